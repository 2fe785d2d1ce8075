// Linked into librseqmalloc.so only. Wraps pthread_create so that the release thread starts at
// the one moment that is safe and useful: when the program itself starts its first thread. The
// process is becoming multi-threaded anyway (so no single-threaded program gains a thread), and
// this is ordinary program code, where no libc lock is held (unlike inside malloc/free). Static
// links cannot wrap pthread_create (libc.a defines it too); there the thread is opt-in
// (RSEQMALLOC_RELEASE_THREAD=1 or rseqmalloc_start_release_thread()).
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>

#include "allocator/memory_release.h"

namespace {

using PthreadCreate = int (*)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*);

PthreadCreate RealPthreadCreate() {
  static PthreadCreate real = nullptr;  // a race resolves the same pointer twice
  if (real == nullptr) real = reinterpret_cast<PthreadCreate>(dlsym(RTLD_NEXT, "pthread_create"));
  return real;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int pthread_create(
    pthread_t* thread, const pthread_attr_t* attr, void* (*start)(void*), void* arg) {
  PthreadCreate real = RealPthreadCreate();
  if (real == nullptr) return EAGAIN;
  // The release thread is created through the real function too (StartReleaseThread calls
  // pthread_create, which is this wrapper: the started flag is set first, so it does not
  // recurse).
  rseqmalloc::OnProgramThreadCreate();
  return real(thread, attr, start, arg);
}
