#include "tests/reliability/entry_point_driver.h"

#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <map>
#include <new>

#include "tests/reliability/fault_harness.h"

// C23 entry points that glibc 2.36 lacks: weak, so the test links against the placeholder and
// calls the real ones once the allocator defines them.
extern "C" void free_sized(void* ptr, size_t size) __attribute__((weak));
extern "C" void free_aligned_sized(void* ptr, size_t alignment, size_t size)
    __attribute__((weak));

namespace rseqmalloc {
namespace reliability {
namespace {

// How a live block must be released: the pairing rules of C and C++.
enum class Origin { kMalloc, kAligned, kAlignedAlloc, kNew, kNewArray, kNewAligned,
                    kNewArrayAligned };

struct Live {
  void* ptr = nullptr;
  size_t size = 0;       // requested
  size_t usable = 0;     // what malloc_usable_size said, all of it written
  size_t alignment = 0;  // requested (0 for the plain entry points)
  Origin origin = Origin::kMalloc;
  uint64_t seed = 0;
};

constexpr size_t kMax = SIZE_MAX;
// Requests no allocator can satisfy on x86_64 or aarch64 (user space is at most 2^57 bytes).
constexpr size_t kImpossible[] = {size_t{1} << 58,       size_t{1} << 62,
                                  size_t{PTRDIFF_MAX},   size_t{PTRDIFF_MAX} + 1,
                                  kMax - 4095,           kMax - 15,
                                  kMax};

bool IsPowerOfTwo(size_t x) { return x != 0 && (x & (x - 1)) == 0; }
size_t BitFloor(size_t x) { return x == 0 ? 0 : size_t{1} << (63 - __builtin_clzll(x)); }
size_t RoundUpPow2(size_t x) { return x <= 1 ? 1 : size_t{1} << (64 - __builtin_clzll(x - 1)); }

class Driver {
 public:
  explicit Driver(const DriverOptions& options) : options_(options), state_(options.seed) {}

  DriverReport Run() {
    const double end = NowSeconds() + options_.max_seconds;
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    for (op_ = 0; op_ < options_.max_ops && report_.problems.size() < 20; ++op_) {
      if ((op_ & 255) == 0 && NowSeconds() > end) break;
      Step();
    }
    report_.ops = op_;
    for (auto& slot : slots_) Release(slot, /*verify=*/true);
    return report_;
  }

 private:
  static constexpr int kSlots = 256;

  uint64_t Next() {
    state_ += 0x9e3779b97f4a7c15ull;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }

  size_t RandomSize() {
    size_t pick = Below(1000);
    if (pick < 40) return 0;
    if (pick < 80) return kImpossible[Below(sizeof kImpossible / sizeof kImpossible[0])];
    if (pick < 600) return 1 + Below(1024);
    if (pick < 850) return 1 + Below(4096);
    if (pick < 990) return 1 + Below(64 * 1024);
    return 1 + Below(1 << 20);
  }

  size_t RandomAlignment() {
    size_t pick = Below(100);
    if (pick < 75) return size_t{1} << Below(22);  // 1 .. 2 MiB
    if (pick < 85) return 0;
    if (pick < 95) {
      static const size_t kOdd[] = {3, 6, 12, 24, 48, 96, 100, 4097, 65535};
      return kOdd[Below(sizeof kOdd / sizeof kOdd[0])];
    }
    return pick < 98 ? size_t{1} << 63 : kMax;  // alignments no allocation can have
  }

  void Problem(const char* format, ...) __attribute__((format(printf, 2, 3))) {
    char text[512];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof text, format, args);
    va_end(args);
    char line[700];
    snprintf(line, sizeof line, "seed %llu op %ld: %s",
             static_cast<unsigned long long>(options_.seed), op_, text);
    report_.problems.push_back(line);
  }

  // Checks a fresh block and takes it into slot; min_alignment is what the call promised.
  void Adopt(Live& slot, void* p, size_t size, size_t alignment, size_t min_alignment,
             Origin origin, const char* call, bool zeroed = false) {
    if (reinterpret_cast<uintptr_t>(p) % min_alignment != 0) {
      Problem("%s(size %zu, alignment %zu) = %p is not %zu-aligned", call, size, alignment, p,
              min_alignment);
    }
    size_t usable = malloc_usable_size(p);
    if (usable < size) {
      // Reported; the test then writes only what the allocator said is there, so that one
      // wrong answer does not turn into a cascade of heap corruption.
      Problem("%s(size %zu) = %p has usable size %zu", call, size, p, usable);
    }
    if (zeroed) {
      for (size_t i = 0; i < size; ++i) {
        if (static_cast<unsigned char*>(p)[i] != 0) {
          Problem("%s(size %zu) = %p: byte %zu is %d, not zero", call, size, p, i,
                  static_cast<unsigned char*>(p)[i]);
          break;
        }
      }
    }
    CheckNoOverlap(p, usable, call);
    slot = {p, size, usable, alignment, origin, Next()};
    FillPattern(p, usable, slot.seed);
    ranges_[reinterpret_cast<uintptr_t>(p)] = usable;
  }

  void CheckNoOverlap(void* p, size_t usable, const char* call) {
    uintptr_t start = reinterpret_cast<uintptr_t>(p);
    auto after = ranges_.lower_bound(start);
    if (after != ranges_.end() && after->first < start + (usable ? usable : 1)) {
      Problem("%s = %p (+%zu) overlaps live block %p (+%zu)", call, p, usable,
              reinterpret_cast<void*>(after->first), after->second);
    }
    if (after != ranges_.begin()) {
      auto before = std::prev(after);
      if (before->first + before->second > start) {
        Problem("%s = %p overlaps live block %p (+%zu)", call, p,
                reinterpret_cast<void*>(before->first), before->second);
      }
    }
  }

  void Verify(const Live& slot, const char* when) {
    size_t bad = CheckPattern(slot.ptr, slot.usable, slot.seed);
    if (bad != slot.usable) {
      Problem("%s: block %p (size %zu, usable %zu) changed at byte %zu", when, slot.ptr, slot.size,
              slot.usable, bad);
    }
  }

  void Forget(Live& slot) {
    ranges_.erase(reinterpret_cast<uintptr_t>(slot.ptr));
    slot = Live();
  }

  // Frees with the matching function, choosing among the sized and unsized variants.
  void Release(Live& slot, bool verify) {
    if (slot.ptr == nullptr) return;
    if (verify) Verify(slot, "before free");
    void* p = slot.ptr;
    bool sized = Below(2) == 0;
    std::align_val_t al{slot.alignment};
    switch (slot.origin) {
      case Origin::kMalloc:
        if (sized && free_sized != nullptr) free_sized(p, slot.size);
        else free(p);
        break;
      case Origin::kAlignedAlloc:
        if (sized && free_aligned_sized != nullptr) free_aligned_sized(p, slot.alignment, slot.size);
        else free(p);
        break;
      case Origin::kAligned: free(p); break;
      case Origin::kNew:
        if (sized) ::operator delete(p, slot.size);
        else ::operator delete(p);
        break;
      case Origin::kNewArray:
        if (sized) ::operator delete[](p, slot.size);
        else ::operator delete[](p);
        break;
      case Origin::kNewAligned:
        if (sized) ::operator delete(p, slot.size, al);
        else ::operator delete(p, al);
        break;
      case Origin::kNewArrayAligned:
        if (sized) ::operator delete[](p, slot.size, al);
        else ::operator delete[](p, al);
        break;
    }
    Forget(slot);
  }

  void ExpectFailure(void* p, int expected_errno, const char* call, size_t a, size_t b) {
    int got = errno;
    if (p != nullptr) {
      Problem("%s(%zu, %zu) succeeded (%p) but must fail", call, a, b, p);
      return;
    }
    if (got != expected_errno) {
      Problem("%s(%zu, %zu) = NULL with errno %d (%s), expected %d (%s)", call, a, b, got,
              strerror(got), expected_errno, strerror(expected_errno));
    }
    ++report_.failures_expected;
  }

  // No mapping this large can exist: user space is 2^47 bytes (2^48 on aarch64, and a 5-level
  // x86_64 kernel maps above 2^47 only when asked to by an address hint).
  static constexpr size_t kNoSuchMapping = size_t{1} << 48;
  static bool Impossible(size_t size) { return size >= kNoSuchMapping; }
  size_t MallocAlignment(size_t size) const {
    size_t natural = BitFloor(size == 0 ? 1 : size);
    return natural < 16 ? natural : 16;
  }

  void Step() {
    Live& slot = slots_[Below(kSlots)];
    size_t size = RandomSize();
    switch (Below(14)) {
      case 0:
      case 1: {  // malloc
        Release(slot, true);
        errno = 0;
        void* p = malloc(size);
        if (Impossible(size)) return ExpectFailure(p, ENOMEM, "malloc", size, 0);
        if (p == nullptr) return Problem("malloc(%zu) = NULL, errno %d", size, errno);
        return Adopt(slot, p, size, 0, MallocAlignment(size), Origin::kMalloc, "malloc");
      }
      case 2: {  // calloc, also with products that overflow
        Release(slot, true);
        size_t n = Below(4) == 0 ? kImpossible[Below(7)] : 1 + Below(64);
        size_t each = size / (n < 64 ? n : 1) + (Below(8) == 0 ? kMax / 3 : 0);
        size_t product;
        bool overflow = __builtin_mul_overflow(n, each, &product);
        errno = 0;
        void* p = calloc(n, each);
        if (overflow || Impossible(product)) return ExpectFailure(p, ENOMEM, "calloc", n, each);
        if (p == nullptr) return Problem("calloc(%zu, %zu) = NULL, errno %d", n, each, errno);
        return Adopt(slot, p, product, 0, MallocAlignment(product), Origin::kMalloc, "calloc",
                     /*zeroed=*/true);
      }
      case 3:
      case 4: return Realloc(slot, size, /*array=*/false);
      case 5: return Realloc(slot, size, /*array=*/true);
      case 6: return Aligned(slot, size, "memalign");
      case 7: return Aligned(slot, size, "aligned_alloc");
      case 8: return Aligned(slot, size, "posix_memalign");
      case 9: return PageAligned(slot, size);
      case 10:
      case 11: return New(slot, size);
      case 12:  // a block's usable size does not change while it lives
        if (slot.ptr != nullptr && malloc_usable_size(slot.ptr) != slot.usable) {
          Problem("malloc_usable_size(%p) changed from %zu to %zu", slot.ptr, slot.usable,
                  malloc_usable_size(slot.ptr));
        }
        return Release(slot, true);
      default:
        if (slot.ptr != nullptr) Verify(slot, "while live");
        return;
    }
  }

  void Realloc(Live& slot, size_t size, bool array) {
    // realloc applies only to blocks from the malloc family.
    if (slot.ptr != nullptr && slot.origin != Origin::kMalloc &&
        slot.origin != Origin::kAligned && slot.origin != Origin::kAlignedAlloc) {
      Release(slot, true);
    }
    if (slot.ptr != nullptr) Verify(slot, "before realloc");
    size_t n = 1, each = size;
    if (array) {
      n = 1 + Below(16);
      each = size / n + (Below(6) == 0 ? kMax / 4 : 0);
    }
    size_t product;
    bool overflow = __builtin_mul_overflow(n, each, &product);
    const char* call = array ? "reallocarray" : "realloc";
    errno = 0;
    void* p = array ? reallocarray(slot.ptr, n, each) : realloc(slot.ptr, size);
    if (overflow || Impossible(product)) {
      ExpectFailure(p, ENOMEM, call, n, each);
      if (slot.ptr != nullptr) Verify(slot, "after failed realloc");  // old block untouched
      return;
    }
    if (p == nullptr) {
      // realloc(p, 0) may free p and return NULL (glibc does); anything else is a failure.
      if (product == 0 && slot.ptr != nullptr) {
        Forget(slot);
        return;
      }
      return Problem("%s(%p, %zu) = NULL, errno %d", call, slot.ptr, product, errno);
    }
    // The old contents survive up to the smaller of the two sizes.
    if (slot.ptr != nullptr) {
      size_t keep = slot.usable < product ? slot.usable : product;
      Live moved = slot;
      moved.ptr = p;
      moved.usable = keep;
      Verify(moved, call);
      ranges_.erase(reinterpret_cast<uintptr_t>(slot.ptr));
    }
    Adopt(slot, p, product, 0, MallocAlignment(product), Origin::kMalloc, call);
  }

  void Aligned(Live& slot, size_t size, const char* call) {
    Release(slot, true);
    size_t alignment = RandomAlignment();
    bool pow2 = IsPowerOfTwo(alignment);
    void* p = nullptr;
    errno = 0;
    int rc = 0;
    if (strcmp(call, "posix_memalign") == 0) {
      // Valid: a power of two that is a multiple of sizeof(void*). Returns the error code.
      rc = posix_memalign(&p, alignment, size);
      bool valid = pow2 && alignment % sizeof(void*) == 0;
      if (!valid) {
        if (rc != EINVAL) Problem("posix_memalign(%zu, %zu) returned %d, expected EINVAL", alignment, size, rc);
        else ++report_.failures_expected;
        return;
      }
      if (Impossible(size) || alignment >= kNoSuchMapping) {
        if (rc != ENOMEM) Problem("posix_memalign(%zu, %zu) returned %d, expected ENOMEM", alignment, size, rc);
        else ++report_.failures_expected;
        return;
      }
      if (rc != 0) return Problem("posix_memalign(%zu, %zu) returned %d", alignment, size, rc);
      return Adopt(slot, p, size, alignment, alignment, Origin::kAligned, call);
    }
    bool is_aligned_alloc = strcmp(call, "aligned_alloc") == 0;
    p = is_aligned_alloc ? aligned_alloc(alignment, size) : memalign(alignment, size);
    int err = errno;
    if (Impossible(size) || alignment >= kNoSuchMapping) {
      // Both errors are honest here: glibc says EINVAL for alignments above SIZE_MAX/2+1.
      if (p != nullptr) return Problem("%s(%zu, %zu) = %p, must fail", call, alignment, size, p);
      if (err != ENOMEM && err != EINVAL) {
        return Problem("%s(%zu, %zu) = NULL with errno %d", call, alignment, size, err);
      }
      ++report_.failures_expected;
      return;
    }
    if (!pow2 && is_aligned_alloc && options_.strict_aligned_alloc) {
      return ExpectFailure(p, EINVAL, call, alignment, size);
    }
    if (!pow2 && p == nullptr) {
      // memalign may reject what it cannot read as a power of two.
      if (err != EINVAL) Problem("%s(%zu, %zu) = NULL with errno %d", call, alignment, size, err);
      return;
    }
    if (p == nullptr) return Problem("%s(%zu, %zu) = NULL, errno %d", call, alignment, size, err);
    // glibc rounds a non-power-of-two alignment up; 0 means the default alignment.
    size_t promised = alignment == 0 ? 1 : RoundUpPow2(alignment);
    Adopt(slot, p, size, alignment, promised,
          is_aligned_alloc && pow2 ? Origin::kAlignedAlloc : Origin::kAligned, call);
  }

  void PageAligned(Live& slot, size_t size) {
    Release(slot, true);
    bool rounded = Below(2) == 0;
    errno = 0;
    void* p = rounded ? pvalloc(size) : valloc(size);
    const char* call = rounded ? "pvalloc" : "valloc";
    if (Impossible(size)) return ExpectFailure(p, ENOMEM, call, size, 0);
    if (p == nullptr) return Problem("%s(%zu) = NULL, errno %d", call, size, errno);
    // pvalloc rounds the size up to whole pages (0 stays 0 in glibc), and the block holds them.
    size_t need = rounded ? (size + page_ - 1) / page_ * page_ : size;
    Adopt(slot, p, need, page_, page_, Origin::kAligned, call);
  }

  void New(Live& slot, size_t size) {
    Release(slot, true);
    size_t variant = Below(6);
    size_t alignment = size_t{16} << Below(13);  // 16 .. 64 KiB, powers of two only (the rule)
    std::align_val_t al{alignment};
    bool aligned = variant >= 4;
    bool array = variant % 2 == 1;
    bool nothrow = Below(3) == 0;
    void* p = nullptr;
    bool threw = false;
    try {
      if (nothrow) {
        p = aligned ? (array ? ::operator new[](size, al, std::nothrow)
                             : ::operator new(size, al, std::nothrow))
                    : (array ? ::operator new[](size, std::nothrow)
                             : ::operator new(size, std::nothrow));
      } else {
        p = aligned ? (array ? ::operator new[](size, al) : ::operator new(size, al))
                    : (array ? ::operator new[](size) : ::operator new(size));
      }
    } catch (const std::bad_alloc&) {
      threw = true;
    }
    const char* call = nothrow ? "operator new(nothrow)" : "operator new";
    if (Impossible(size)) {
      if (p != nullptr && aligned && !options_.strict_aligned_new_overflow) {
        // The libstdc++ wraparound (see DriverOptions): give the block back and go on.
        if (array) ::operator delete[](p, al);
        else ::operator delete(p, al);
        return;
      }
      if (p != nullptr) return Problem("%s(%zu) = %p, must fail", call, size, p);
      if (!nothrow && !threw) return Problem("%s(%zu) returned NULL instead of throwing", call, size);
      if (nothrow && threw) return Problem("%s(%zu) threw", call, size);
      ++report_.failures_expected;
      return;
    }
    if (p == nullptr) return Problem("%s(%zu) failed", call, size);
    Origin origin = aligned ? (array ? Origin::kNewArrayAligned : Origin::kNewAligned)
                            : (array ? Origin::kNewArray : Origin::kNew);
    Adopt(slot, p, size, aligned ? alignment : 0,
          aligned ? alignment : (size >= 16 ? 16 : MallocAlignment(size)), origin, call);
  }

  DriverOptions options_;
  uint64_t state_;
  long op_ = 0;
  size_t page_ = 4096;
  Live slots_[kSlots];
  std::map<uintptr_t, size_t> ranges_;  // live blocks by address, with their usable sizes
  DriverReport report_;
};

}  // namespace

DriverReport RunEntryPointDriver(const DriverOptions& options) { return Driver(options).Run(); }

}  // namespace reliability
}  // namespace rseqmalloc
