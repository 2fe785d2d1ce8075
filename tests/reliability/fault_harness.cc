#include "tests/reliability/fault_harness.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "allocator/rseqmalloc.h"

namespace rseqmalloc {
namespace reliability {

std::string RseqStatusLine() {
  char line[512];
  rseqmalloc_rseq_status(line, sizeof line);
  return line;
}

bool AllocatorIsPlaceholder() {
  return RseqStatusLine().rfind("rseq: placeholder", 0) == 0;
}

std::string ModeFromEnvironment() {
  const char* off = getenv("RSEQMALLOC_RSEQ");
  if (off != nullptr && strcmp(off, "off") == 0) return "no_rseq";
  const char* tunables = getenv("GLIBC_TUNABLES");
  if (tunables != nullptr && strstr(tunables, "glibc.pthread.rseq=0") != nullptr) return "own_rseq";
  return "glibc_rseq";
}

std::string ChildOutcome::Describe() const {
  char text[128];
  if (timed_out) {
    snprintf(text, sizeof text, "timed out (killed by the test: deadlock or livelock)");
  } else if (exited) {
    snprintf(text, sizeof text, "exit %d", exit_code);
  } else {
    snprintf(text, sizeof text, "killed by signal %d (%s)", signal, strsignal(signal));
  }
  std::string out = text;
  if (!stderr_text.empty()) out += ", stderr: " + stderr_text;
  return out;
}

ChildOutcome RunInChild(const std::function<int()>& body, double timeout_seconds,
                        bool capture_stderr) {
  ChildOutcome outcome;
  int err_pipe[2] = {-1, -1};
  if (capture_stderr && pipe(err_pipe) != 0) abort();
  fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    outcome.exit_code = -errno;
    outcome.stderr_text = "fork failed";
    return outcome;
  }
  if (pid == 0) {
    if (capture_stderr) {
      dup2(err_pipe[1], 2);
      close(err_pipe[0]);
      close(err_pipe[1]);
    }
    int rc = body();
    fflush(nullptr);
    _exit(rc);
  }
  if (capture_stderr) close(err_pipe[1]);

  // Wait for the child while draining its stderr, so that a chatty child cannot block on a full
  // pipe and look like a deadlock.
  const double deadline = NowSeconds() + timeout_seconds;
  int status = 0;
  bool reaped = false;
  while (!reaped) {
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      reaped = true;
      break;
    }
    if (NowSeconds() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      outcome.timed_out = true;
      reaped = true;
      break;
    }
    if (capture_stderr) {
      struct pollfd pfd = {err_pipe[0], POLLIN, 0};
      if (poll(&pfd, 1, 5) > 0) {
        char buf[4096];
        ssize_t got = read(err_pipe[0], buf, sizeof buf);
        if (got > 0 && outcome.stderr_text.size() < 65536) outcome.stderr_text.append(buf, got);
      }
    } else {
      struct timespec pause = {0, 2 * 1000 * 1000};
      nanosleep(&pause, nullptr);
    }
  }
  if (capture_stderr) {
    char buf[4096];
    ssize_t got;
    while ((got = read(err_pipe[0], buf, sizeof buf)) > 0) {
      if (outcome.stderr_text.size() < 65536) outcome.stderr_text.append(buf, got);
    }
    close(err_pipe[0]);
  }
  if (!outcome.timed_out) {
    if (WIFEXITED(status)) {
      outcome.exited = true;
      outcome.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      outcome.signal = WTERMSIG(status);
    }
  }
  return outcome;
}

namespace {
// One 64-bit word of the pattern: splitmix64 of the block's seed and the word's index.
inline uint64_t PatternWord(uint64_t seed, uint64_t index) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ull * (index + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
}  // namespace

void FillPattern(void* p, size_t n, uint64_t seed) {
  unsigned char* bytes = static_cast<unsigned char*>(p);
  for (size_t i = 0; i < n; i += 8) {
    uint64_t word = PatternWord(seed, i / 8);
    size_t take = n - i < 8 ? n - i : 8;
    memcpy(bytes + i, &word, take);
  }
}

size_t CheckPattern(const void* p, size_t n, uint64_t seed) {
  const unsigned char* bytes = static_cast<const unsigned char*>(p);
  for (size_t i = 0; i < n; i += 8) {
    uint64_t word = PatternWord(seed, i / 8);
    size_t take = n - i < 8 ? n - i : 8;
    if (memcmp(bytes + i, &word, take) != 0) {
      for (size_t j = 0; j < take; ++j) {
        if (bytes[i + j] != reinterpret_cast<const unsigned char*>(&word)[j]) return i + j;
      }
    }
  }
  return n;
}

namespace {
long StatusFieldKib(const char* field) {
  FILE* f = fopen("/proc/self/status", "r");
  if (f == nullptr) return -1;
  char line[256];
  long value = -1;
  size_t len = strlen(field);
  while (fgets(line, sizeof line, f) != nullptr) {
    if (strncmp(line, field, len) == 0 && line[len] == ':') {
      value = strtol(line + len + 1, nullptr, 10);
      break;
    }
  }
  fclose(f);
  return value;
}
}  // namespace

long CurrentRssKib() { return StatusFieldKib("VmRSS"); }
long PeakRssKib() { return StatusFieldKib("VmHWM"); }

double NowSeconds() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

long EnvLong(const char* name, long fallback) {
  const char* text = getenv(name);
  if (text == nullptr || *text == 0) return fallback;
  char* end = nullptr;
  long value = strtol(text, &end, 10);
  return (end != nullptr && *end == 0) ? value : fallback;
}

}  // namespace reliability
}  // namespace rseqmalloc
