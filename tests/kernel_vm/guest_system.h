// What a guest's /init (PID 1) does around its work: mount the kernel's file systems first, and
// end qemu when it is done. Shared by the test guest (guest_init.cc) and the slice-extension
// benchmark guest (benchmarks/slice_extension/bench_init.cc).
#ifndef RSEQMALLOC_TESTS_KERNEL_VM_GUEST_SYSTEM_H_
#define RSEQMALLOC_TESTS_KERNEL_VM_GUEST_SYSTEM_H_

namespace rseqmalloc {
namespace kernel_vm {

// Mounts /proc, /sys, /sys/kernel/debug (rseq stats, slice_ext_nsec), /dev and /tmp. A mount
// the kernel lacks (e.g. devtmpfs) fails harmlessly.
void MountGuestFileSystems();

// Flushes, then powers the guest off. Without a power-off driver the call returns; qemu runs
// with -no-reboot, so the reboot that follows ends it. Returns only if both failed.
void PowerOffGuest();

}  // namespace kernel_vm
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_TESTS_KERNEL_VM_GUEST_SYSTEM_H_
