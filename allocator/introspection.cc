// rseqmalloc_rseq_status and rseqmalloc_get_stat: the extension API's read side.
#include "allocator/heap.h"
#include "allocator/rseqmalloc.h"
#include "allocator/statistics.h"
#include "percpu/rseq_registration.h"

extern "C" {

size_t rseqmalloc_rseq_status(char* buf, size_t size) {
  rseqmalloc::EnsureInitialized();
  return rseqmalloc::percpu::CurrentRseqStatus().Format(buf, size);
}

int rseqmalloc_get_stat(const char* name, uint64_t* value) {
  rseqmalloc::EnsureInitialized();
  return rseqmalloc::GetStatistic(name, value) ? 0 : -1;
}

}  // extern "C"
