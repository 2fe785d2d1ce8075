// Releasing free page-heap memory to the OS: on request (ReleaseFree) and at free time above
// the high-water mark (ReleaseExcess). See docs/page_heap.md ("Giving memory back").
#include "allocator/locked_section.h"
#include "allocator/page_heap.h"
#include "allocator/system_allocator.h"

namespace rseqmalloc {
namespace {

// Runs taken out per release round: bounds the time under the lock and the stack used.
constexpr size_t kReleaseBatch = 16;
// Runs passed over per round, at most: bounds the walk under the lock when most free runs are
// pieces of well-used hugepages.
constexpr size_t kMaxSkips = 256;

}  // namespace

void PageHeap::ReleaseExcess() {
  size_t excess;
  {
    LockedSection h(&lock_);
    const size_t low = LowWater(RecentPeakLocked()) + WantedAgainLocked();
    if (free_bytes_ <= low) return;
    excess = free_bytes_ - low;
  }
  ReleaseFree(excess);
  LockedSection h(&lock_);
  ++prompt_releases_;
  // What could not be released (fragments of mostly used hugepages) is not retried on every
  // Delete: only once another floor's worth has been freed.
  next_prompt_free_ = free_bytes_ + (kHighWaterFloor - kLowWaterFloor);
}

void PageHeap::RotatePeakLocked(uint64_t now_ms) {
  if (window_start_ms_ == 0) window_start_ms_ = now_ms;  // the first window starts now
  const uint64_t age = now_ms - window_start_ms_;
  if (age < kPeakWindowMs) return;
  // The window that just ended becomes the previous one. If more than one window passed
  // without a New (which rotates), the heap only shrank since: what it holds now is the peak
  // of the window before this one.
  previous_peak_ = age < 2 * kPeakWindowMs ? current_peak_ : in_use_bytes_;
  current_peak_ = in_use_bytes_;
  window_start_ms_ = now_ms;
}

size_t PageHeap::RecentPeakLocked() const {
  size_t peak = previous_peak_ > current_peak_ ? previous_peak_ : current_peak_;
  return peak > in_use_bytes_ ? peak : in_use_bytes_;
}

size_t PageHeap::WantedAgainLocked() const { return RecentPeakLocked() - in_use_bytes_; }

size_t PageHeap::ReleaseFree(size_t bytes) {
  const bool all = bytes == 0;
  size_t released = 0;
  bool failed = false;
  while (!failed && (all || released < bytes)) {
    EnsureSpares();  // best effort: without spares whole runs are released
    Span* batch[kReleaseBatch];
    size_t count = 0;
    {
      LockedSection h(&lock_);
      size_t planned = released;
      // Runs passed over (pieces of mostly used hugepages), out of the lists until the round
      // ends so that the next largest run comes up; they go back before the lock is dropped.
      Span* skipped = nullptr;
      size_t skips = 0;
      while (count < kReleaseBatch && (all || planned < bytes)) {
        Span* run = LargestFreeRunLocked();
        if (run == nullptr) break;
        // Largest first, passing over pieces of mostly used hugepages: releasing those would
        // break a hugepage to gain little. They were once taken as a sign that the rest is
        // no better and the release stopped there; a heap that freed 90 % of itself then kept
        // 1000 MiB resident where 200 MiB was reached before the hugepage work.
        if (!all && MostlyUsedHugepageLocked(run->first_page, run->num_pages)) {
          if (++skips > kMaxSkips) break;
          RemoveLocked(run);
          run->next = skipped;
          skipped = run;
          continue;
        }
        RemoveLocked(run);
        size_t want = run->num_pages;
        size_t lead = 0;
        if (!all) {
          // Release whole hugepages: a partial madvise of a hugepage splits it and keeps
          // the rest resident anyway. Of a run that holds whole aligned hugepages, only those
          // go; the pieces at its ends stay with their (partly used) hugepages.
          size_t pages = PagesFor(bytes - planned);
          RoundUpChecked(pages, kPagesPerHugePage, &pages);
          const size_t head = AlignLeadToHugepage(run->first_page);
          const size_t whole = head < run->num_pages
                                   ? (run->num_pages - head) / kPagesPerHugePage * kPagesPerHugePage
                                   : 0;
          if (whole > 0) {
            lead = head;
            want = pages < whole ? pages : whole;
          } else if (pages < want) {
            want = pages;
          }
        }
        if ((want < run->num_pages || lead > 0) && spare_count_ < kSparesNeeded) {
          want = run->num_pages;  // cannot split without spares: release the whole run
          lead = 0;
        }
        if (want < run->num_pages || lead > 0) run = CarveLocked(run, lead, want);
        // In flight: looks allocated, so neighbours being freed do not merge with it.
        run->state = Span::State::kLarge;
        batch[count++] = run;
        planned += run->bytes();
      }
      while (skipped != nullptr) {
        Span* run = skipped;
        skipped = run->next;
        InsertLocked(run);
      }
    }
    if (count == 0) break;
    bool ok[kReleaseBatch];
    for (size_t i = 0; i < count; ++i) ok[i] = SystemRelease(batch[i]->start(), batch[i]->bytes());
    LockedSection h(&lock_);
    for (size_t i = 0; i < count; ++i) {
      Span* run = batch[i];
      ++release_calls_;
      if (ok[i]) {
        run->state = Span::State::kReturned;
        free_bytes_ -= run->bytes();
        returned_bytes_ += run->bytes();
        released_bytes_ += run->bytes();
        released += run->bytes();
        NoteReleasedLocked(run->first_page, run->num_pages);
      } else {
        run->state = Span::State::kFree;
        failed = true;  // do not spin on a run the kernel refuses
      }
      MergeAndInsertLocked(run);
    }
  }
  return released;
}

}  // namespace rseqmalloc
