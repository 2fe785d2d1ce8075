#include "allocator/profile/stack_trace.h"

#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

// Set by the dynamic loader: the stack pointer at process entry. The main thread's frames all
// lie below it (only argv, envp and the aux vector are above).
extern "C" void* __libc_stack_end;

namespace rseqmalloc::profile {
namespace {

// 0: not yet known; otherwise one past the highest address a frame of this thread may use.
__thread uintptr_t tls_stack_top __attribute__((tls_model("initial-exec"))) = 0;

// Where this thread's stack ends, without calling anything that may allocate or lock.
// glibc places a thread's descriptor and static TLS at the top of the thread's own stack
// mapping, so for every thread but the main one the thread pointer lies just above the stack.
// The main thread's descriptor lives elsewhere; its stack ends at __libc_stack_end.
uintptr_t StackTop() {
  if (tls_stack_top != 0) return tls_stack_top;
  const bool main_thread = syscall(SYS_gettid) == getpid();
  tls_stack_top = main_thread ? reinterpret_cast<uintptr_t>(__libc_stack_end)
                              : reinterpret_cast<uintptr_t>(__builtin_thread_pointer());
  return tls_stack_top;
}

}  // namespace

__attribute__((noinline)) int CaptureStack(void** pcs, int max_depth, int skip) {
  const uintptr_t top = StackTop();
  // A frame record is {saved frame pointer, return address} on x86_64 and aarch64 alike.
  auto* frame = static_cast<uintptr_t*>(__builtin_frame_address(0));
  const uintptr_t bottom = reinterpret_cast<uintptr_t>(frame);
  int depth = 0;
  int to_skip = skip + 1;  // our own caller's return address is not asked for either
  while (depth < max_depth) {
    const uintptr_t here = reinterpret_cast<uintptr_t>(frame);
    // Both words of the record must be on this thread's stack, above where we are now.
    if (here < bottom || here > top - 2 * sizeof(uintptr_t) || (here & 7) != 0) break;
    const uintptr_t return_address = frame[1];
    if (return_address < 4096) break;  // the outermost frame, or a register used for data
    if (to_skip > 0) {
      --to_skip;
    } else {
      // The call instruction's last byte, not the next instruction (which may belong to other,
      // inlined code, or to the next function after a call that does not return).
      pcs[depth++] = reinterpret_cast<void*>(return_address - 1);
    }
    auto* next = reinterpret_cast<uintptr_t*>(frame[0]);
    if (reinterpret_cast<uintptr_t>(next) <= here) break;  // frames only move towards the top
    frame = next;
  }
  return depth;
}

}  // namespace rseqmalloc::profile
