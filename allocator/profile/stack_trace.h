// Call stacks for heap samples and guard reports, taken by walking frame pointers.
//
// The walk runs inside malloc, so it never allocates and never follows a pointer it cannot prove
// readable: every frame must lie between the current stack pointer and the top of this thread's
// stack, and frames must move strictly upwards. Code built without frame pointers (a system
// library, say) ends the walk early rather than crashing it.
#ifndef RSEQMALLOC_ALLOCATOR_PROFILE_STACK_TRACE_H_
#define RSEQMALLOC_ALLOCATOR_PROFILE_STACK_TRACE_H_

#include <stddef.h>

namespace rseqmalloc::profile {

// Deep enough to reach the program's own code from inside a container library or an
// interpreter; bounded so that a sample costs a fixed, small amount of memory.
inline constexpr int kMaxStackDepth = 32;

// Writes up to max_depth call sites (return address - 1) into pcs, innermost first, starting with the caller of
// the function `skip` frames above the caller of CaptureStack (skip 0: CaptureStack's caller's
// caller). Returns the number written.
int CaptureStack(void** pcs, int max_depth, int skip);

}  // namespace rseqmalloc::profile

#endif  // RSEQMALLOC_ALLOCATOR_PROFILE_STACK_TRACE_H_
