#include "tests/kernel_vm/child_process.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sstream>

namespace rseqmalloc {
namespace kernel_vm {
namespace {

long long NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

void EchoLines(std::string* pending, const char* prefix, bool flush_partial) {
  size_t start = 0, nl;
  while ((nl = pending->find('\n', start)) != std::string::npos) {
    printf("%s%.*s\n", prefix, int(nl - start), pending->data() + start);
    start = nl + 1;
  }
  pending->erase(0, start);
  if (flush_partial && !pending->empty()) {
    printf("%s%s\n", prefix, pending->c_str());
    pending->clear();
  }
  fflush(stdout);
}

}  // namespace

std::string ChildResult::Describe() const {
  std::ostringstream s;
  if (!started) return "could not start";
  if (timed_out) s << "timed out, ";
  if (term_signal != 0) {
    s << "killed by signal " << term_signal << " (" << strsignal(term_signal) << ")";
  } else {
    s << "exit " << exit_code;
  }
  return s.str();
}

ChildResult RunChild(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                     int timeout_seconds, const char* echo_prefix) {
  ChildResult result;
  int fds[2];
  if (pipe(fds) != 0) return result;
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) return result;
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    execve(cargv[0], cargv.data(), cenv.data());
    fprintf(stderr, "execve %s: %s\n", cargv[0], strerror(errno));
    _exit(127);
  }
  result.started = true;
  close(fds[1]);
  const long long deadline = NowMs() + timeout_seconds * 1000LL;
  std::string pending;
  char buf[4096];
  for (;;) {
    long long left = deadline - NowMs();
    if (left <= 0) {
      result.timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    int ready = poll(&p, 1, int(left > 1000 ? 1000 : left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n <= 0) break;  // EOF: the child (and anything it forked) closed the pipe
    result.output.append(buf, size_t(n));
    pending.append(buf, size_t(n));
    EchoLines(&pending, echo_prefix, false);
  }
  EchoLines(&pending, echo_prefix, true);
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.term_signal = WTERMSIG(status);
  return result;
}

std::string FindTagged(const std::string& output, const std::string& tag, const std::string& key,
                       const std::string& missing) {
  std::istringstream in(output);
  std::string line, found = missing;
  const std::string prefix = tag + " " + key + "=";
  while (std::getline(in, line)) {
    if (line.compare(0, prefix.size(), prefix) == 0) found = line.substr(prefix.size());
  }
  return found;
}

std::string FindLine(const std::string& output, const std::string& tag) {
  std::istringstream in(output);
  std::string line, found;
  const std::string prefix = tag + " ";
  while (std::getline(in, line)) {
    if (line.compare(0, prefix.size(), prefix) == 0) found = line.substr(prefix.size());
  }
  return found;
}

}  // namespace kernel_vm
}  // namespace rseqmalloc
