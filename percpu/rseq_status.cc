#include "percpu/rseq_status.h"

#include <stdio.h>

namespace rseqmalloc {
namespace percpu {

const char* RseqOwnerName(RseqOwner owner) {
  switch (owner) {
    case RseqOwner::kGlibc: return "glibc";
    case RseqOwner::kOwn: return "own";
    case RseqOwner::kNone: break;
  }
  return "none";
}

const char* RseqModeName(RseqMode mode) {
  switch (mode) {
    case RseqMode::kLegacy: return "legacy";
    case RseqMode::kOptimized: return "optimized";
    case RseqMode::kUnavailable: break;
  }
  return "unavailable";
}

const char* RseqModeSourceName(RseqModeSource source) {
  switch (source) {
    case RseqModeSource::kKernel: return "kernel";
    case RseqModeSource::kInferred: return "inferred";
    case RseqModeSource::kNone: break;
  }
  return "none";
}

const char* SlotKeyName(SlotKey key) { return key == SlotKey::kMmCid ? "mm_cid" : "cpu_id"; }

const char* SliceExtStateName(SliceExtState state) {
  switch (state) {
    case SliceExtState::kAvailable: return "available";
    case SliceExtState::kEnabled: return "enabled";
    case SliceExtState::kUnsupported: break;
  }
  return "unsupported";
}

size_t RseqStatus::Format(char* buf, size_t size) const {
  // snprintf with only integer and string conversions does not allocate in glibc.
  int n = snprintf(buf, size,
                   "rseq: owner=%s registered=%u feature_size=%u mode=%s mode_source=%s key=%s "
                   "slots=%u slice_ext=%s",
                   RseqOwnerName(owner), static_cast<unsigned>(registered_length),
                   static_cast<unsigned>(feature_size), RseqModeName(mode),
                   RseqModeSourceName(mode_source), SlotKeyName(key),
                   static_cast<unsigned>(slots), SliceExtStateName(slice_ext));
  return n < 0 ? 0 : static_cast<size_t>(n);
}

}  // namespace percpu
}  // namespace rseqmalloc
