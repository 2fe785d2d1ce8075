#include "allocator/profile/profile_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "allocator/diagnostics.h"

namespace rseqmalloc::profile {
namespace {

// Collects output in a stack buffer and hands it on in chunks: to a file descriptor, or into
// the caller's buffer (counting what did not fit, like snprintf).
class Output {
 public:
  Output(int fd, char* buf, size_t size) : fd_(fd), buf_(buf), size_(size) {}

  void Write(const char* data, size_t n) {
    while (n > 0) {
      if (pending_ == sizeof(chunk_)) Flush();
      size_t take = sizeof(chunk_) - pending_;
      if (take > n) take = n;
      memcpy(chunk_ + pending_, data, take);
      pending_ += take;
      data += take;
      n -= take;
    }
  }
  void Puts(const char* s) { Write(s, strlen(s)); }

  // Returns false if writing to the descriptor failed.
  bool Finish() {
    Flush();
    if (fd_ < 0 && size_ > 0) buf_[length_ < size_ ? length_ : size_ - 1] = '\0';
    return ok_;
  }
  size_t length() const { return length_; }

 private:
  void Flush() {
    if (fd_ >= 0) {
      for (size_t done = 0; done < pending_ && ok_;) {
        const ssize_t n = write(fd_, chunk_ + done, pending_ - done);
        if (n > 0) done += static_cast<size_t>(n);
        else if (n < 0 && errno == EINTR) continue;
        else ok_ = false;
      }
    } else if (length_ + 1 < size_) {
      size_t room = size_ - 1 - length_;
      memcpy(buf_ + length_, chunk_, pending_ < room ? pending_ : room);
    }
    length_ += pending_;
    pending_ = 0;
  }

  int fd_;
  char* buf_;
  size_t size_;
  size_t length_ = 0;
  size_t pending_ = 0;
  bool ok_ = true;
  char chunk_[4096];
};

unsigned long Rounded(double value) {
  return value <= 0 ? 0 : static_cast<unsigned long>(value + 0.5);
}

void EmitLine(const Amount& shown, const Amount& total, const Bucket* bucket, void* arg) {
  auto* out = static_cast<Output*>(arg);
  char line[128];
  if (bucket == nullptr) {
    FormatTo(line, sizeof(line), "heap profile: %lu: %lu [ %lu: %lu] @ heapprofile\n",
             Rounded(shown.count), Rounded(shown.bytes), Rounded(total.count),
             Rounded(total.bytes));
    out->Puts(line);
    return;
  }
  FormatTo(line, sizeof(line), "%lu: %lu [%lu: %lu] @", Rounded(shown.count),
           Rounded(shown.bytes), Rounded(total.count), Rounded(total.bytes));
  out->Puts(line);
  for (int i = 0; i < bucket->depth; ++i) {
    FormatTo(line, sizeof(line), " %p", bucket->pcs[i]);
    out->Puts(line);
  }
  out->Puts("\n");
}

// The address map lets pprof turn addresses into functions of the right binary or library.
void AppendMappedLibraries(Output* out) {
  out->Puts("\nMAPPED_LIBRARIES:\n");
  const int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  char chunk[4096];
  for (;;) {
    const ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out->Write(chunk, static_cast<size_t>(n));
  }
  close(fd);
}

void WriteAll(SampleTable& table, ProfileKind kind, Output* out) {
  table.ForEach(kind, EmitLine, out);
  AppendMappedLibraries(out);
}

}  // namespace

bool WriteProfile(SampleTable& table, ProfileKind kind, int fd) {
  Output out(fd, nullptr, 0);
  WriteAll(table, kind, &out);
  return out.Finish();
}

size_t FormatProfile(SampleTable& table, ProfileKind kind, char* buf, size_t size) {
  Output out(-1, buf, size);
  WriteAll(table, kind, &out);
  out.Finish();
  return out.length();
}

}  // namespace rseqmalloc::profile
