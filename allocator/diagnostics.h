#ifndef RSEQMALLOC_ALLOCATOR_DIAGNOSTICS_H_
#define RSEQMALLOC_ALLOCATOR_DIAGNOSTICS_H_

#include <cstdarg>
#include <cstddef>
#include <cstdint>

namespace rseqmalloc {

// Messages from inside malloc cannot use stdio (it allocates, and may hold its own locks), so
// these format into a stack buffer and write(2) it to stderr. Each message is one line that
// starts with "rseqmalloc: ".
//
// Formats understood: %s (C string), %d (int), %u (unsigned), %zu (size_t), %p (pointer),
// %x (unsigned, hex), %lu (unsigned long), %%.
void Log(const char* format, ...) __attribute__((format(printf, 1, 2)));

// Logs the message and aborts the process: the outcome of heap misuse that was detected
// (invalid free, double free) or of a broken invariant. Never returns.
[[noreturn]] void Fatal(const char* format, ...) __attribute__((format(printf, 1, 2)));

// Formats like Log into buf (always NUL-terminated when size > 0); returns the full length.
size_t FormatTo(char* buf, size_t size, const char* format, ...)
    __attribute__((format(printf, 3, 4)));
size_t VFormatTo(char* buf, size_t size, const char* format, va_list args);

}  // namespace rseqmalloc

#endif  // RSEQMALLOC_ALLOCATOR_DIAGNOSTICS_H_
