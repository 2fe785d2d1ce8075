// LockedSection keeps the time-slice-extension request alive across a contended Lock(): the
// kernel clears slice_ctrl.request when it returns to a thread after a context switch, which is
// exactly what happens to a waiter that yielded, so the section must request again once it holds
// the lock. On a host without the extension the request byte is exercised by turning the thread's
// extension state on by hand (the kernel ignores bytes beyond the feature size it fills).
#include "allocator/locked_section.h"

#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "arch/rseq_abi.h"
#include "gtest/gtest.h"
#include "percpu/rseq_registration.h"

namespace rseqmalloc {
namespace {

volatile uint8_t* ThisThreadsSliceByte(size_t offset) {
  return reinterpret_cast<volatile uint8_t*>(percpu::ThreadRseqArea() + offset);
}

TEST(LockedSectionTest, RequestIsMadeAgainOnceTheLockIsHeld) {
  percpu::RseqProcessInit(percpu::RseqOptions{});  // usable or not: the byte logic is the same
  SpinLock lock;
  lock.Lock();
  std::atomic<volatile uint8_t*> request{nullptr};
  std::atomic<int> request_inside{-1}, granted_inside{-1};
  std::thread waiter([&] {
    percpu::internal::t_slice_state = percpu::internal::kSliceOn;
    request = ThisThreadsSliceByte(arch::kRseqSliceRequestOffset);
    LockedSection section(&lock);
    request_inside = *ThisThreadsSliceByte(arch::kRseqSliceRequestOffset);
    granted_inside = *ThisThreadsSliceByte(arch::kRseqSliceGrantedOffset);
  });
  // The waiter has made its request and spins (or yields) on the held lock.
  while (request.load() == nullptr || *request.load() != 1) sched_yield();
  usleep(20 * 1000);
  // What the kernel does to the waiter's request when it schedules the waiter back in.
  *request.load() = 0;
  lock.Unlock();
  waiter.join();
  // A real kernel may have granted meanwhile, which also clears the request; otherwise the
  // section must have asked again.
  EXPECT_TRUE(request_inside == 1 || granted_inside == 1)
      << "request=" << request_inside << " granted=" << granted_inside;
}

TEST(LockedSectionTest, RequestIsWithdrawnAfterTheSection) {
  std::thread([] {
    percpu::RseqProcessInit(percpu::RseqOptions{});
    percpu::internal::t_slice_state = percpu::internal::kSliceOn;
    SpinLock lock;
    {
      LockedSection section(&lock);
      EXPECT_TRUE(lock.IsHeld());
      EXPECT_EQ(*ThisThreadsSliceByte(arch::kRseqSliceRequestOffset), 1);
    }
    EXPECT_FALSE(lock.IsHeld());
    EXPECT_EQ(*ThisThreadsSliceByte(arch::kRseqSliceRequestOffset), 0);
  }).join();
}

}  // namespace
}  // namespace rseqmalloc
