// What the rseq layer decided for this process, in a form that can be printed without allocating.
#ifndef RSEQMALLOC_PERCPU_RSEQ_STATUS_H_
#define RSEQMALLOC_PERCPU_RSEQ_STATUS_H_

#include <stddef.h>
#include <stdint.h>

namespace rseqmalloc {
namespace percpu {

// Who registered the rseq areas we use.
enum class RseqOwner : uint8_t { kNone, kGlibc, kOwn };

// kOptimized means "registered length > 32". Kernels since 7.0.7/7.1 run such registrations in
// optimized (V2) mode; older kernels do not distinguish, so on them this is only a label for the
// length we asked for (the kernel offers no way to query the mode it actually applies).
enum class RseqMode : uint8_t { kUnavailable, kLegacy, kOptimized };

// Which struct rseq field indexes the per-slot caches.
enum class SlotKey : uint8_t { kCpuId, kMmCid };

enum class SliceExtState : uint8_t { kUnsupported, kAvailable, kEnabled };

struct RseqStatus {
  RseqOwner owner = RseqOwner::kNone;
  uint32_t registered_length = 0;
  uint32_t feature_size = 0;  // effective feature size (bytes of struct rseq the kernel fills)
  RseqMode mode = RseqMode::kUnavailable;
  SlotKey key = SlotKey::kCpuId;
  uint32_t slots = 0;
  SliceExtState slice_ext = SliceExtState::kUnsupported;

  // Writes one line, e.g.
  // "rseq: owner=glibc registered=32 feature_size=28 mode=legacy key=mm_cid slots=2 slice_ext=unsupported"
  // with snprintf semantics: returns the length the full line has, writes at most size-1 chars
  // plus a NUL when size > 0. Never allocates.
  size_t Format(char* buf, size_t size) const;
};

const char* RseqOwnerName(RseqOwner owner);
const char* RseqModeName(RseqMode mode);
const char* SlotKeyName(SlotKey key);
const char* SliceExtStateName(SliceExtState state);

}  // namespace percpu
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_PERCPU_RSEQ_STATUS_H_
