#include "tests/kernel_vm/guest_profile.h"

#include <errno.h>
#include <string.h>

#include "tests/kernel_vm/guest_rseq_abi.h"

namespace rseqmalloc {
namespace kernel_vm {
namespace {

constexpr GuestProfile kProfiles[] = {
    // Our tinyconfig build with CONFIG_RSEQ_SLICE_EXTENSION: everything present.
    {"x86_64-7.3", "7.3.", "x86_64", true, 33, 64, true, true, true, 0, kEnotsupp, 0},
    // Debian's arm64 kernel: V2 and mm_cid, but arm64 lacks the generic entry code that the
    // slice extension needs, so the prctl stub answers ENOTSUPP and syscall 471 is not wired.
    {"arm64-7.3", "7.3.", "aarch64", false, 33, 64, false, true, true, kEnotsupp, kEnotsupp, ENOSYS},
    // bookworm's 6.1: no auxv entries, no mm_cid (reads as 0), no V2, prctl 79 unknown.
    {"arm64-6.1", "6.1.", "aarch64", false, 0, 0, false, false, false, EINVAL, EINVAL, ENOSYS},
};

}  // namespace

const GuestProfile* FindGuestProfile(const char* name) {
  if (name == nullptr) return nullptr;
  for (const auto& p : kProfiles)
    if (strcmp(p.name, name) == 0) return &p;
  return nullptr;
}

}  // namespace kernel_vm
}  // namespace rseqmalloc
