// A deadline for a test process that explains itself. When it expires, the stack of every thread
// of the process goes to stderr and the process aborts, so a test that dies at its deadline says
// whether it was stuck (threads parked on locks or futexes, waiting on each other) or merely slow
// (threads busy in their work), instead of a bare "killed by SIGALRM".
#ifndef RSEQMALLOC_TESTS_COMMON_DEADLINE_H_
#define RSEQMALLOC_TESTS_COMMON_DEADLINE_H_

namespace rseqmalloc {
namespace test {

// Arms the deadline `seconds` from now (replacing any earlier one; uses SIGALRM and one real-time
// signal). At expiry, every thread listed in /proc/self/task prints its own backtrace, one after
// the other (addresses as `binary(+offset)`: `addr2line -f -e binary offset` names them); then,
// if gdb is installed, `gdb -batch` attaches and prints every thread's symbolised stack; then the
// process aborts (SIGABRT). Call it in the process that must finish, e.g. a forked child.
void ArmDeadlineWithStacks(unsigned seconds);

// Cancels the deadline.
void DisarmDeadline();

}  // namespace test
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_TESTS_COMMON_DEADLINE_H_
