// What the rseq layer decided for this process, in a form that can be printed without allocating.
#ifndef RSEQMALLOC_PERCPU_RSEQ_STATUS_H_
#define RSEQMALLOC_PERCPU_RSEQ_STATUS_H_

#include <stddef.h>
#include <stdint.h>

namespace rseqmalloc {
namespace percpu {

// Who registered the rseq areas we use.
enum class RseqOwner : uint8_t { kNone, kGlibc, kOwn };

// kOptimized: the registration is longer than 32 bytes, which kernels since 7.0.7/7.1 run in
// optimized (V2) mode (6.19-7.0.6 ran optimized behaviour for every registration, older kernels
// for none). RseqModeSource says whether the kernel showed the mode or it was inferred.
enum class RseqMode : uint8_t { kUnavailable, kLegacy, kOptimized };

// Where `mode` comes from. kKernel: observed, because the kernel set
// RSEQ_CS_FLAG_SLICE_EXT_AVAILABLE in rseq::flags, which it does only for optimized
// registrations. kInferred: from the registered length alone (no kernel offers a query).
// kNone: no rseq.
enum class RseqModeSource : uint8_t { kNone, kInferred, kKernel };

// Which struct rseq field indexes the per-slot caches.
enum class SlotKey : uint8_t { kCpuId, kMmCid };

enum class SliceExtState : uint8_t { kUnsupported, kAvailable, kEnabled };

struct RseqStatus {
  RseqOwner owner = RseqOwner::kNone;
  uint32_t registered_length = 0;
  uint32_t feature_size = 0;  // effective feature size (bytes of struct rseq the kernel fills)
  RseqMode mode = RseqMode::kUnavailable;
  RseqModeSource mode_source = RseqModeSource::kNone;
  SlotKey key = SlotKey::kCpuId;
  uint32_t slots = 0;
  SliceExtState slice_ext = SliceExtState::kUnsupported;

  // Writes one line, e.g.
  // "rseq: owner=glibc registered=32 feature_size=28 mode=legacy mode_source=inferred key=mm_cid
  //  slots=2 slice_ext=unsupported"
  // with snprintf semantics: returns the length the full line has, writes at most size-1 chars
  // plus a NUL when size > 0. Never allocates.
  size_t Format(char* buf, size_t size) const;
};

const char* RseqOwnerName(RseqOwner owner);
const char* RseqModeName(RseqMode mode);
const char* RseqModeSourceName(RseqModeSource source);
const char* SlotKeyName(SlotKey key);
const char* SliceExtStateName(SliceExtState state);

}  // namespace percpu
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_PERCPU_RSEQ_STATUS_H_
