// The deadline must end a stuck process with every thread's stack on stderr, and leave a process
// that finishes in time alone.
#include "tests/common/deadline.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mutex>
#include <string>
#include <thread>

#include "gtest/gtest.h"

namespace rseqmalloc {
namespace test {
namespace {

struct Ended {
  int status = 0;
  std::string stderr_text;
};

Ended RunInChild(void (*body)()) {
  int pipe_fds[2];
  EXPECT_EQ(pipe(pipe_fds), 0);
  fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(pipe_fds[1], STDERR_FILENO);
    close(pipe_fds[0]);
    body();
    _exit(0);
  }
  close(pipe_fds[1]);
  Ended ended;
  char buffer[4096];
  ssize_t n;
  while ((n = read(pipe_fds[0], buffer, sizeof(buffer))) > 0) ended.stderr_text.append(buffer, n);
  close(pipe_fds[0]);
  waitpid(pid, &ended.status, 0);
  return ended;
}

size_t Count(const std::string& text, const std::string& what) {
  size_t count = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++count;
  return count;
}

// Two threads that each wait for the other's lock forever: a real deadlock.
void Deadlock() {
  ArmDeadlineWithStacks(1);
  static std::mutex first, second;
  first.lock();
  std::thread other([] {
    second.lock();
    first.lock();
  });
  usleep(100000);
  second.lock();
  other.join();
}

TEST(Deadline, AStuckProcessAbortsWithTheStackOfEveryThread) {
  const Ended ended = RunInChild(Deadlock);
  ASSERT_TRUE(WIFSIGNALED(ended.status)) << ended.stderr_text;
  EXPECT_EQ(WTERMSIG(ended.status), SIGABRT);
  EXPECT_NE(ended.stderr_text.find("deadline: 1 s expired"), std::string::npos) << ended.stderr_text;
  // Both threads answered with their own stack, and not with "no answer".
  EXPECT_EQ(Count(ended.stderr_text, "--- thread "), 2u) << ended.stderr_text;
  EXPECT_EQ(Count(ended.stderr_text, "no answer"), 0u) << ended.stderr_text;
  EXPECT_NE(ended.stderr_text.find("deadline: aborting"), std::string::npos) << ended.stderr_text;
}

void FinishesInTime() {
  ArmDeadlineWithStacks(2);
  usleep(100000);
  DisarmDeadline();
  sleep(3);
}

TEST(Deadline, DisarmedDeadlineNeverFires) {
  const Ended ended = RunInChild(FinishesInTime);
  ASSERT_TRUE(WIFEXITED(ended.status)) << ended.stderr_text;
  EXPECT_EQ(WEXITSTATUS(ended.status), 0);
  EXPECT_EQ(ended.stderr_text, "");
}

}  // namespace
}  // namespace test
}  // namespace rseqmalloc
