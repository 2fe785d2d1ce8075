// Selects the rseq critical sections for the target architecture. Every architecture provides,
// in namespace rseqmalloc::arch, with identical semantics:
//   bool   RseqPush(rseq, key, geometry, header_offset, item)
//   void*  RseqPop(rseq, key, geometry, header_offset)
//   size_t RseqPushBatch(rseq, key, geometry, header_offset, batch, n)
//   size_t RseqPopBatch(rseq, key, geometry, header_offset, batch, n)
//   size_t RseqGrow(rseq, key, geometry, header_offset, want)
// where rseq is this thread's struct rseq and key points at the u32 field inside it that the
// slab is indexed by (cpu_id or mm_cid). All fail (false / nullptr / 0) without side effects when
// cpu_id < 0, the slot index is >= slot_limit, or the slot's state is not exactly kSlotReady.
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
