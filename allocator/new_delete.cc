// Every replaceable C++ allocation and deallocation function. new reports exhaustion the C++
// way: it calls the new handler until one is not installed, then throws std::bad_alloc; the
// nothrow forms return nullptr instead.
#include <cstddef>
#include <new>

#include "allocator/diagnostics.h"
#include "allocator/heap.h"

// Everything this file needs from the C++ runtime is referenced weakly, so that
// librseqmalloc.so (linked with --as-needed) does not load libstdc++, libm and libgcc_s into
// every C program it is preloaded into: about 1.3 MiB of resident memory per process. A C++
// program loads libstdc++ itself and these resolve to it; a program without libstdc++ cannot
// have installed a new handler and can only reach operator new through something that would
// have loaded libstdc++, so the checks below are for completeness.
// .weak at the assembler level: it applies to the references the compiler emits for throw,
// catch and the unwinder as well as to our own.
asm(".weak _ZSt15get_new_handlerv\n"
    ".weak _ZTISt9bad_alloc\n"
    ".weak _ZTVSt9bad_alloc\n"
    ".weak _ZNSt9bad_allocD1Ev\n"
    ".weak __cxa_allocate_exception\n"
    ".weak __cxa_throw\n"
    ".weak __cxa_begin_catch\n"
    ".weak __cxa_end_catch\n"
    ".weak __gxx_personality_v0\n"
    ".weak _Unwind_Resume\n");

// Declared weak to the compiler too, so that it does not fold the null checks below away.
extern "C" void* __cxa_allocate_exception(std::size_t) noexcept __attribute__((weak));
namespace std {
new_handler get_new_handler() noexcept __attribute__((weak));
}  // namespace std

namespace {

// Whether the C++ runtime that throwing needs is in the process.
bool CxxRuntimePresent() {
  return &__cxa_allocate_exception != nullptr && &std::get_new_handler != nullptr;
}

using rseqmalloc::Allocate;
using rseqmalloc::AllocateAligned;
using rseqmalloc::Deallocate;
using rseqmalloc::DeallocateSized;

template <bool kNoThrow>
__attribute__((noinline)) void* NewFailed(std::size_t size, std::size_t alignment) {
  for (;;) {
    if (!CxxRuntimePresent()) {
      if (kNoThrow) return nullptr;
      rseqmalloc::Fatal("operator new: out of memory and no C++ runtime to throw with");
    }
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) {
      if (kNoThrow) return nullptr;
      throw std::bad_alloc();
    }
    if (kNoThrow) {
      try {
        handler();
      } catch (const std::bad_alloc&) {
        return nullptr;
      }
    } else {
      handler();
    }
    void* ptr = alignment ? AllocateAligned(size, alignment) : Allocate(size);
    if (ptr != nullptr) return ptr;
  }
}

// new's miss, reached by a tail call from the hit path (so operator new needs no frame):
// malloc's miss, then the new-handler loop if that found no memory.
template <bool kNoThrow>
__attribute__((noinline)) void* NewMiss(std::size_t size) {
  void* ptr = rseqmalloc::AllocateMiss(size);
  if (RSEQMALLOC_LIKELY(ptr != nullptr)) return ptr;
  return NewFailed<kNoThrow>(size, 0);
}

RSEQMALLOC_ALWAYS_INLINE void* New(std::size_t size) {
  return rseqmalloc::AllocateWith(size, [](std::size_t n) { return NewMiss<false>(n); });
}

RSEQMALLOC_ALWAYS_INLINE void* NewNoThrow(std::size_t size) {
  return rseqmalloc::AllocateWith(size, [](std::size_t n) { return NewMiss<true>(n); });
}

// Aligned new's miss: the aligned slow path, then the new-handler loop if that found no memory.
template <bool kNoThrow>
__attribute__((noinline)) void* NewAlignedMiss(std::size_t size, std::size_t align) {
  void* ptr = AllocateAligned(size, align);
  if (RSEQMALLOC_LIKELY(ptr != nullptr)) return ptr;
  return NewFailed<kNoThrow>(size, align);
}

// The standard makes align_val_t a power of two.
template <bool kNoThrow>
RSEQMALLOC_ALWAYS_INLINE void* NewAlignedWith(std::size_t size, std::align_val_t alignment) {
  const auto align = static_cast<std::size_t>(alignment);
  void* object;
  if (align <= rseqmalloc::kPageSize &&
      rseqmalloc::TryAllocateAlignedHit(size, align, &object)) {
    return object;
  }
  return NewAlignedMiss<kNoThrow>(size, align);
}

RSEQMALLOC_ALWAYS_INLINE void* NewAligned(std::size_t size, std::align_val_t alignment) {
  return NewAlignedWith<false>(size, alignment);
}

RSEQMALLOC_ALWAYS_INLINE void* NewAlignedNoThrow(std::size_t size, std::align_val_t alignment) {
  return NewAlignedWith<true>(size, alignment);
}

}  // namespace

#define RSEQMALLOC_EXPORT __attribute__((visibility("default")))

RSEQMALLOC_EXPORT void* operator new(std::size_t n) { return New(n); }
RSEQMALLOC_EXPORT void* operator new[](std::size_t n) { return New(n); }
RSEQMALLOC_EXPORT void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return NewNoThrow(n);
}
RSEQMALLOC_EXPORT void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return NewNoThrow(n);
}
RSEQMALLOC_EXPORT void* operator new(std::size_t n, std::align_val_t a) { return NewAligned(n, a); }
RSEQMALLOC_EXPORT void* operator new[](std::size_t n, std::align_val_t a) {
  return NewAligned(n, a);
}
RSEQMALLOC_EXPORT void* operator new(std::size_t n, std::align_val_t a,
                                     const std::nothrow_t&) noexcept {
  return NewAlignedNoThrow(n, a);
}
RSEQMALLOC_EXPORT void* operator new[](std::size_t n, std::align_val_t a,
                                       const std::nothrow_t&) noexcept {
  return NewAlignedNoThrow(n, a);
}

RSEQMALLOC_EXPORT void operator delete(void* p) noexcept { Deallocate(p); }
RSEQMALLOC_EXPORT void operator delete[](void* p) noexcept { Deallocate(p); }
RSEQMALLOC_EXPORT void operator delete(void* p, const std::nothrow_t&) noexcept { Deallocate(p); }
RSEQMALLOC_EXPORT void operator delete[](void* p, const std::nothrow_t&) noexcept {
  Deallocate(p);
}
RSEQMALLOC_EXPORT void operator delete(void* p, std::size_t n) noexcept { DeallocateSized(p, n); }
RSEQMALLOC_EXPORT void operator delete[](void* p, std::size_t n) noexcept {
  DeallocateSized(p, n);
}
// Aligned objects may sit in a class other than ClassFor(n): these look the class up.
RSEQMALLOC_EXPORT void operator delete(void* p, std::align_val_t) noexcept { Deallocate(p); }
RSEQMALLOC_EXPORT void operator delete[](void* p, std::align_val_t) noexcept { Deallocate(p); }
RSEQMALLOC_EXPORT void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  Deallocate(p);
}
RSEQMALLOC_EXPORT void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  Deallocate(p);
}
RSEQMALLOC_EXPORT void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  Deallocate(p);
}
RSEQMALLOC_EXPORT void operator delete[](void* p, std::align_val_t,
                                         const std::nothrow_t&) noexcept {
  Deallocate(p);
}
