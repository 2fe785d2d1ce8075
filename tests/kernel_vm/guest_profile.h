// What each guest kernel is expected to show. The host picks the profile per boot and passes its
// name on the kernel command line (RSEQMALLOC_VM_GUEST=<name>), which reaches /init's environment.
#ifndef RSEQMALLOC_TESTS_KERNEL_VM_GUEST_PROFILE_H_
#define RSEQMALLOC_TESTS_KERNEL_VM_GUEST_PROFILE_H_

namespace rseqmalloc {
namespace kernel_vm {

struct GuestProfile {
  const char* name;
  const char* release_prefix;     // uname -r must start with this ("7.3." ...)
  const char* machine;            // uname -m
  bool glibc_241;                 // the trixie glibc 2.41 programs are in this guest's initramfs
  unsigned long at_feature_size;  // getauxval(AT_RSEQ_FEATURE_SIZE); 0 = not provided
  unsigned long at_align;
  bool slice_ext;        // CONFIG_RSEQ_SLICE_EXTENSION built and usable (grants expected)
  bool mm_cid;           // the kernel maintains rseq::mm_cid
  bool optimized_rseq;   // registrations longer than 32 bytes get the optimized (V2) mode
  int prctl_errno_own;   // errno of the slice-ext prctl with a V2 own registration (0 = works)
  int prctl_errno_glibc; // errno of the same prctl with glibc's 32-byte registration
  int yield_errno;       // errno of syscall 471 (0 = it exists)
};

// nullptr when the name is unknown.
const GuestProfile* FindGuestProfile(const char* name);

}  // namespace kernel_vm
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_TESTS_KERNEL_VM_GUEST_PROFILE_H_
