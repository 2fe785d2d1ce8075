// Everything after expiry runs inside a signal handler of a process that may be deadlocked in the
// allocator: only async-signal-safe calls (raw syscalls, write, backtrace after a warm-up), no
// malloc, no stdio, no fork() (its handlers take the allocator's locks).
#include "tests/common/deadline.h"

#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <initializer_list>

namespace rseqmalloc {
namespace test {
namespace {

constexpr long kThreadAnswerMs = 2000;  // a thread with the signal blocked must not stall the dump
constexpr long kGdbMs = 60000;

unsigned g_seconds = 0;
int g_dump_signal = 0;
char g_gdb[64];                          // empty when gdb is not installed
std::atomic<pid_t> g_dumped_tid{0};      // the last thread that finished printing its stack

void Write(const char* text) {
  size_t left = strlen(text);
  while (left > 0) {
    ssize_t n = write(STDERR_FILENO, text, left);
    if (n <= 0) return;
    text += n;
    left -= static_cast<size_t>(n);
  }
}

// Decimal text of `value` into `out` (at least 21 bytes).
const char* Decimal(uint64_t value, char* out) {
  char digits[21];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  for (int i = 0; i < n; ++i) out[i] = digits[n - 1 - i];
  out[n] = '\0';
  return out;
}

void SleepMs(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

pid_t ThisThread() { return static_cast<pid_t>(syscall(SYS_gettid)); }

// Prints the calling thread's stack, headed by its id.
void PrintOwnStack() {
  char number[21];
  Write("--- thread ");
  Write(Decimal(static_cast<uint64_t>(ThisThread()), number));
  Write("\n");
  void* frames[64];
  int depth = backtrace(frames, 64);
  backtrace_symbols_fd(frames, depth, STDERR_FILENO);
}

void OnDumpSignal(int) {
  const int saved_errno = errno;
  PrintOwnStack();
  g_dumped_tid.store(ThisThread(), std::memory_order_release);
  errno = saved_errno;
}

// Asks every other thread, one at a time so that their output does not interleave, to print its
// stack from its own signal handler; prints the calling thread's own stack where it comes up.
void DumpEveryThreadInProcess() {
  const pid_t self = ThisThread();
  const pid_t process = getpid();
  int dir = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    Write("deadline: cannot list /proc/self/task\n");
    PrintOwnStack();
    return;
  }
  alignas(8) char buffer[4096];
  for (;;) {
    long bytes = syscall(SYS_getdents64, dir, buffer, sizeof(buffer));
    if (bytes <= 0) break;
    for (long at = 0; at < bytes;) {
      // struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, char name[].
      uint16_t record_length;
      memcpy(&record_length, buffer + at + 16, sizeof(record_length));
      const char* name = buffer + at + 19;
      at += record_length;
      if (name[0] < '0' || name[0] > '9') continue;
      const pid_t tid = static_cast<pid_t>(atol(name));
      if (tid == self) {
        PrintOwnStack();
        continue;
      }
      g_dumped_tid.store(0, std::memory_order_relaxed);
      if (syscall(SYS_tgkill, process, tid, g_dump_signal) != 0) continue;  // it has just exited
      long waited = 0;
      while (g_dumped_tid.load(std::memory_order_acquire) != tid && waited < kThreadAnswerMs) {
        SleepMs(1);
        ++waited;
      }
      if (waited >= kThreadAnswerMs) {
        char number[21];
        Write("--- thread ");
        Write(Decimal(static_cast<uint64_t>(tid), number));
        Write(": no answer (signal blocked, or stopped in the kernel)\n");
      }
    }
  }
  close(dir);
}

// Runs `gdb -batch -p <pid> -ex "thread apply all bt"` with its output on stderr. The child is made
// with a raw clone: fork() would run the allocator's fork handlers, which take its locks.
void DumpWithGdb() {
  char pid_text[21];
  Decimal(static_cast<uint64_t>(getpid()), pid_text);
  const pid_t child = static_cast<pid_t>(syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0));
  if (child < 0) return;
  if (child == 0) {
    dup2(STDERR_FILENO, STDOUT_FILENO);
    char* const argv[] = {g_gdb,
                          const_cast<char*>("-batch"),
                          const_cast<char*>("-nx"),
                          const_cast<char*>("-p"),
                          pid_text,
                          const_cast<char*>("-ex"),
                          const_cast<char*>("thread apply all bt"),
                          nullptr};
    char* const env[] = {const_cast<char*>("PATH=/usr/bin:/bin"), nullptr};
    execve(g_gdb, argv, env);
    syscall(SYS_exit_group, 127);
  }
  Write("deadline: stacks as gdb sees them:\n");
  for (long waited = 0;; waited += 10) {
    int status;
    if (waitpid(child, &status, WNOHANG) == child) return;
    if (waited >= kGdbMs) {
      kill(child, SIGKILL);
      waitpid(child, &status, 0);
      return;
    }
    SleepMs(10);
  }
}

void OnDeadline(int) {
  char number[21];
  Write("\ndeadline: ");
  Write(Decimal(g_seconds, number));
  Write(" s expired in process ");
  Write(Decimal(static_cast<uint64_t>(getpid()), number));
  Write("; the stack of every thread follows, then abort\n");
  DumpEveryThreadInProcess();
  if (g_gdb[0] != '\0') DumpWithGdb();
  Write("deadline: aborting\n");
  abort();
}

}  // namespace

void ArmDeadlineWithStacks(unsigned seconds) {
  g_seconds = seconds;
  // The first backtrace() loads the unwinder (dlopen, malloc): do it now, not in the handler.
  void* warm_up[4];
  backtrace(warm_up, 4);
  g_dump_signal = SIGRTMIN + 3;
  g_gdb[0] = '\0';
  for (const char* path : {"/usr/bin/gdb", "/bin/gdb", "/usr/local/bin/gdb"}) {
    if (access(path, X_OK) == 0) {
      strncpy(g_gdb, path, sizeof(g_gdb) - 1);
      break;
    }
  }
  // Yama (ptrace_scope 1) only lets ancestors attach: allow the gdb child to.
  prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
  struct sigaction action;
  memset(&action, 0, sizeof(action));
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  action.sa_handler = OnDumpSignal;
  sigaction(g_dump_signal, &action, nullptr);
  action.sa_handler = OnDeadline;
  sigaction(SIGALRM, &action, nullptr);
  alarm(seconds);
}

void DisarmDeadline() { alarm(0); }

}  // namespace test
}  // namespace rseqmalloc
