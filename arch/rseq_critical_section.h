// Selects the rseq critical sections for the target architecture. Every architecture provides,
// in namespace rseqmalloc::arch, with identical semantics:
//   bool   RseqPush(fast_path, cl, item)
//   bool   RseqPop(fast_path, cl, &item)
//   size_t RseqPushBatch(fast_path, cl, batch, n)
//   size_t RseqPopBatch(fast_path, cl, batch, n)
//   size_t RseqGrow(fast_path, cl, max_end, want)
// where fast_path is the slab's SlabFastPath line (arch/slab_layout.h) and cl a class index. All
// fail (false / 0) without side effects when the slab is disabled (rseq_offset 0), the
// thread is not registered (cpu_id < 0) or the class's bounds refuse the operation (uninitialised,
// stopped, full or empty); RseqGrow also fails unless the slot's state is kSlotOpen.
#ifndef RSEQMALLOC_ARCH_RSEQ_CRITICAL_SECTION_H_
#define RSEQMALLOC_ARCH_RSEQ_CRITICAL_SECTION_H_

#include "arch/thread_pointer.h"

#if defined(__x86_64__)
#include "arch/x86_64/rseq_slab_ops.h"
#elif defined(__aarch64__)
#include "arch/aarch64/rseq_slab_ops.h"
#else
#error "rseqmalloc: no rseq critical sections for this architecture"
#endif

#endif  // RSEQMALLOC_ARCH_RSEQ_CRITICAL_SECTION_H_
