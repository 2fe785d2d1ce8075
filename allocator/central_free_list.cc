#include "allocator/central_free_list.h"

#include <errno.h>

#include "allocator/common.h"
#include "allocator/diagnostics.h"
#include "allocator/locked_section.h"
#include "allocator/page_heap.h"
#include "allocator/page_map.h"
#include "allocator/size_classes.h"

namespace rseqmalloc {

// A span that is full is in no bin; this marks it.
constexpr uint8_t kNoBin = 0xff;

void CentralFreeList::Init(uint32_t size_class) {
  size_class_ = size_class;
  object_size_ = static_cast<uint32_t>(SizeMap::ClassSize(size_class));
  objects_per_span_ = SizeMap::ObjectsPerSpan(size_class);
  pages_per_span_ = static_cast<uint32_t>(SizeMap::ClassPages(size_class));
}

int CentralFreeList::BinOf(const Span* span) const {
  // Fuller spans get higher bins; allocation searches from the top.
  int bin = static_cast<int>(uint64_t{span->allocated} * kBins / span->capacity);
  return bin < kBins ? bin : kBins - 1;
}

int CentralFreeList::TakeLocked(void** batch, int n) {
  int got = 0;
  for (int bin = kBins - 1; bin >= 0 && got < n; --bin) {
    while (got < n && !bins_[bin].Empty()) {
      Span* span = bins_[bin].First();
      while (got < n && span->allocated < span->capacity) {
        void* object = span->free_objects;
        if (object != nullptr) {
          span->free_objects = *static_cast<void**>(object);
        } else {
          // Carve the next never-used object.
          object = static_cast<char*>(span->start()) +
                   size_t{span->bump_index} * object_size_;
          ++span->bump_index;
        }
        batch[got++] = object;
        ++span->allocated;
      }
      bins_[bin].Remove(span);
      if (span->allocated == span->capacity) {
        span->occupancy_bin = kNoBin;
      } else {
        span->occupancy_bin = static_cast<uint8_t>(BinOf(span));
        bins_[span->occupancy_bin].Insert(span);
      }
    }
  }
  free_objects_ -= static_cast<size_t>(got);
  return got;
}

Span* CentralFreeList::NewSpan() {
  Span* span = g_page_heap.NewSmall(pages_per_span_);
  if (span == nullptr) return nullptr;
  span->state = Span::State::kSmall;
  span->size_class = static_cast<uint8_t>(size_class_);
  span->free_objects = nullptr;
  span->allocated = 0;
  span->capacity = objects_per_span_;
  span->bump_index = 0;
  // Published before any object of the span can reach free(): free() finds the class here,
  // and the central list finds the span of an object on any of its pages (the page heap maps
  // only the end pages of the spans it hands out).
  g_pagemap.SetRange(span->first_page, span->num_pages, span);
  g_pagemap.SetSizeClass(span->first_page, span->num_pages, static_cast<uint8_t>(size_class_));
  return span;
}

int CentralFreeList::RemoveRange(void** batch, int n) {
  int got;
  {
    LockedSection section(&lock_);
    got = TakeLocked(batch, n);
  }
  while (got < n) {
    // The page heap may have to map memory: never inside our locked section.
    Span* span = NewSpan();
    if (span == nullptr) {
      if (got == 0) errno = ENOMEM;
      break;
    }
    LockedSection section(&lock_);
    span->occupancy_bin = 0;
    bins_[0].Insert(span);
    ++spans_;
    free_objects_ += span->capacity;
    got += TakeLocked(batch + got, n - got);
  }
  return got;
}

void CentralFreeList::InsertRange(void* const* batch, int n) {
  // Callers pass at most a batch and one object; larger ranges go in chunks so that the
  // span array below stays on the stack.
  while (n > kMaxInsertChunk) {
    InsertChunk(batch, kMaxInsertChunk);
    batch += kMaxInsertChunk;
    n -= kMaxInsertChunk;
  }
  if (n > 0) InsertChunk(batch, n);
}

void CentralFreeList::InsertChunk(void* const* batch, int n) {
  // The pagemap walk is a few dependent loads per object, mostly cache misses: done before
  // the lock is taken, so that CPUs waiting for the lock do not wait for them too. The span
  // of an object the caller still owns cannot go away meanwhile (it has a live object); a
  // double free or foreign pointer is caught under the lock below.
  Span* spans[kMaxInsertChunk];
  for (int i = 0; i < n; ++i) {
    spans[i] = g_pagemap.GetSpan(PageIdOf(batch[i]));
    if (spans[i] != nullptr) __builtin_prefetch(spans[i], /*rw=*/1);
  }
  SpanList empty;  // spans whose last object came back, returned after the lock is dropped
  {
    LockedSection section(&lock_);
    for (int i = 0; i < n; ++i) {
      void* object = batch[i];
      Span* span = spans[i];
      if (span == nullptr || span->state != Span::State::kSmall ||
          span->size_class != size_class_ || span->allocated == 0) {
        Fatal("free(): invalid pointer or double free of %p (size class %u)", object,
              size_class_);
      }
      *static_cast<void**>(object) = span->free_objects;
      span->free_objects = object;
      --span->allocated;
      // Bins move only when the occupancy crosses a bin boundary: relinking a span on every
      // object would write its neighbours' list links (more lines pulled in under the lock).
      if (span->allocated == 0) {
        if (span->occupancy_bin != kNoBin) bins_[span->occupancy_bin].Remove(span);
        span->occupancy_bin = kNoBin;
        free_objects_ -= span->capacity - 1;
        --spans_;
        empty.Insert(span);
        continue;
      }
      ++free_objects_;
      const uint8_t bin = static_cast<uint8_t>(BinOf(span));
      if (bin != span->occupancy_bin) {
        if (span->occupancy_bin != kNoBin) bins_[span->occupancy_bin].Remove(span);
        span->occupancy_bin = bin;
        bins_[bin].Insert(span);
      }
    }
  }
  while (!empty.Empty()) {
    Span* span = empty.First();
    empty.Remove(span);
    g_page_heap.Delete(span);  // also clears the span's pagemap entries
  }
}

}  // namespace rseqmalloc
