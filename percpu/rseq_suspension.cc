#include "percpu/rseq_suspension.h"

#include "percpu/rseq_registration.h"
#include "percpu/slice_extension.h"

namespace rseqmalloc {
namespace percpu {

RseqSuspension SuspendThreadRseq() {
  RseqSuspension suspension{false, 0};
  suspension.slice_state = internal::t_slice_state;
  // Off, not unknown: a guard in the child must neither touch slice_ctrl nor call prctl on
  // behalf of a task that has no registration.
  internal::t_slice_state = internal::kSliceOff;
  // cpu_id >= 0 is exactly "the kernel keeps this area for this thread" (glibc's area, or ours
  // once registered): what the critical sections test.
  if (!internal::g_rseq_usable || ThreadRseqCpuId() < 0) return suspension;
  suspension.unregistered = internal::UnregisterThreadArea();
  return suspension;
}

bool ResumeThreadRseq(const RseqSuspension& suspension) {
  bool ok = true;
  if (suspension.unregistered) ok = internal::RegisterThreadAreaAgain();
  // A new registration starts without the extension enabled unless it asked for it: let the next
  // guard decide again (it reads the area's flags and, where needed, enables it by prctl).
  internal::t_slice_state = suspension.unregistered ? internal::kSliceUnknown
                                                    : suspension.slice_state;
  return ok;
}

}  // namespace percpu
}  // namespace rseqmalloc
