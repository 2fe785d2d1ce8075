#include "allocator/diagnostics.h"

#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

namespace rseqmalloc {
namespace {

// A bounded writer: counts the full length even when the buffer is too short.
struct Sink {
  char* buf;
  size_t size;
  size_t len = 0;
  void Put(char c) {
    if (len + 1 < size) buf[len] = c;
    ++len;
  }
  void Puts(const char* s) {
    while (*s) Put(*s++);
  }
  void PutUnsigned(uint64_t v, unsigned base) {
    char digits[24];
    int n = 0;
    do {
      digits[n++] = "0123456789abcdef"[v % base];
      v /= base;
    } while (v != 0);
    while (n > 0) Put(digits[--n]);
  }
  void Finish() {
    if (size > 0) buf[len < size ? len : size - 1] = '\0';
  }
};

void Format(Sink& sink, const char* format, va_list args) {
  for (const char* f = format; *f; ++f) {
    if (*f != '%') {
      sink.Put(*f);
      continue;
    }
    ++f;
    bool is_long = false;
    while (*f == 'z' || *f == 'l') {  // size_t and long are both 64-bit on our targets
      is_long = true;
      ++f;
    }
    switch (*f) {
      case 's': {
        const char* s = va_arg(args, const char*);
        sink.Puts(s ? s : "(null)");
        break;
      }
      case 'd': {
        int64_t v = is_long ? va_arg(args, long) : va_arg(args, int);
        if (v < 0) {
          sink.Put('-');
          sink.PutUnsigned(static_cast<uint64_t>(-(v + 1)) + 1, 10);
        } else {
          sink.PutUnsigned(static_cast<uint64_t>(v), 10);
        }
        break;
      }
      case 'u':
        sink.PutUnsigned(is_long ? va_arg(args, unsigned long) : va_arg(args, unsigned), 10);
        break;
      case 'x':
        sink.PutUnsigned(is_long ? va_arg(args, unsigned long) : va_arg(args, unsigned), 16);
        break;
      case 'p':
        sink.Puts("0x");
        sink.PutUnsigned(reinterpret_cast<uintptr_t>(va_arg(args, void*)), 16);
        break;
      case '%':
        sink.Put('%');
        break;
      case '\0':
        --f;  // a lone '%' at the end
        break;
      default:
        sink.Put('%');
        sink.Put(*f);
    }
  }
}

void WriteLine(const char* format, va_list args) {
  char line[512];
  Sink sink{line, sizeof(line) - 1};
  sink.Puts("rseqmalloc: ");
  Format(sink, format, args);
  size_t n = sink.len < sizeof(line) - 2 ? sink.len : sizeof(line) - 2;
  line[n++] = '\n';
  for (size_t done = 0; done < n;) {
    ssize_t w = write(STDERR_FILENO, line + done, n - done);
    if (w <= 0) break;
    done += static_cast<size_t>(w);
  }
}

}  // namespace

void Log(const char* format, ...) {
  va_list args;
  va_start(args, format);
  WriteLine(format, args);
  va_end(args);
}

void Fatal(const char* format, ...) {
  va_list args;
  va_start(args, format);
  WriteLine(format, args);
  va_end(args);
  abort();
}

size_t FormatTo(char* buf, size_t size, const char* format, ...) {
  va_list args;
  va_start(args, format);
  const size_t len = VFormatTo(buf, size, format, args);
  va_end(args);
  return len;
}

size_t VFormatTo(char* buf, size_t size, const char* format, va_list args) {
  Sink sink{buf, size};
  Format(sink, format, args);
  sink.Finish();
  return sink.len;
}

}  // namespace rseqmalloc
