// Runs a command and reports what it cost: wall time, user and system CPU time and peak RSS, all
// of the command's own process (wait4's rusage), as one line written to REPORT_FILE:
//   MEASURED wall_ns=<n> utime_us=<n> stime_us=<n> maxrss_kib=<n> status=<exit code or -signal>
// Why a helper: ru_maxrss keeps the high-water mark of the process image before exec, so a child
// forked from the Python runner would report at least the runner's RSS. This binary is static and
// tiny, so what its child inherits before exec is a few hundred KiB at most.
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace {

long long NowNs() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<long long>(now.tv_sec) * 1000000000LL + now.tv_nsec;
}

long long Microseconds(const timeval& t) {
  return static_cast<long long>(t.tv_sec) * 1000000LL + t.tv_usec;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s REPORT_FILE COMMAND [ARGS...]\n", argv[0]);
    return 2;
  }
  // Opened before the fork but close-on-exec ("e"), so the command does not inherit it.
  FILE* report = std::fopen(argv[1], "we");
  if (report == nullptr) {
    std::fprintf(stderr, "measured_exec: cannot write %s: %s\n", argv[1], std::strerror(errno));
    return 2;
  }
  long long start = NowNs();
  pid_t child = fork();
  if (child < 0) {
    std::perror("measured_exec: fork");
    return 2;
  }
  if (child == 0) {
    execvp(argv[2], argv + 2);
    std::fprintf(stderr, "measured_exec: cannot run %s: %s\n", argv[2], std::strerror(errno));
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  while (wait4(child, &status, 0, &usage) < 0) {
    if (errno != EINTR) {
      std::perror("measured_exec: wait4");
      return 2;
    }
  }
  long long wall = NowNs() - start;
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  std::fprintf(report, "MEASURED wall_ns=%lld utime_us=%lld stime_us=%lld maxrss_kib=%ld status=%d\n",
               wall, Microseconds(usage.ru_utime), Microseconds(usage.ru_stime), usage.ru_maxrss,
               code);
  std::fclose(report);
  return 0;
}
