#ifndef RSEQMALLOC_ALLOCATOR_FORK_HANDLERS_H_
#define RSEQMALLOC_ALLOCATOR_FORK_HANDLERS_H_

namespace rseqmalloc {

// Registers pthread_atfork handlers that hold every allocator lock across fork(), so that the
// child of a multi-threaded parent never inherits a lock held by a thread that does not exist
// in it, and can allocate at once.
void InstallForkHandlers();

}  // namespace rseqmalloc

#endif  // RSEQMALLOC_ALLOCATOR_FORK_HANDLERS_H_
