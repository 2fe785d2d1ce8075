#include "tests/kernel_vm/guest_system.h"

#include <stdio.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <unistd.h>

#include <initializer_list>

namespace rseqmalloc {
namespace kernel_vm {

void MountGuestFileSystems() {
  for (const char* dir : {"/proc", "/sys", "/dev", "/tmp"}) mkdir(dir, 0755);
  mount("proc", "/proc", "proc", 0, nullptr);
  mount("sysfs", "/sys", "sysfs", 0, nullptr);
  mount("debugfs", "/sys/kernel/debug", "debugfs", 0, nullptr);
  mount("devtmpfs", "/dev", "devtmpfs", 0, nullptr);
  mount("tmpfs", "/tmp", "tmpfs", 0, nullptr);
}

void PowerOffGuest() {
  fflush(stdout);
  sync();
  reboot(RB_POWER_OFF);
  reboot(RB_AUTOBOOT);
}

}  // namespace kernel_vm
}  // namespace rseqmalloc
