// An intrusive doubly-linked list of spans through Span::prev/next. No allocation, no sentinel
// (so it is constexpr-constructible and lives in .bss), O(1) insert at either end and removal.
#ifndef RSEQMALLOC_ALLOCATOR_SPAN_LIST_H_
#define RSEQMALLOC_ALLOCATOR_SPAN_LIST_H_

#include <stddef.h>

#include "allocator/span.h"

namespace rseqmalloc {

class SpanList {
 public:
  constexpr SpanList() : head_(nullptr), tail_(nullptr) {}
  SpanList(const SpanList&) = delete;
  SpanList& operator=(const SpanList&) = delete;

  bool Empty() const { return head_ == nullptr; }
  Span* First() const { return head_; }
  Span* Last() const { return tail_; }

  // Inserts at the front.
  void Insert(Span* s) {
    s->prev = nullptr;
    s->next = head_;
    if (head_ != nullptr) {
      head_->prev = s;
    } else {
      tail_ = s;
    }
    head_ = s;
  }

  void InsertBack(Span* s) {
    s->next = nullptr;
    s->prev = tail_;
    if (tail_ != nullptr) {
      tail_->next = s;
    } else {
      head_ = s;
    }
    tail_ = s;
  }

  // Inserts s just before `before`, which must be in this list (nullptr: at the back).
  void InsertBefore(Span* before, Span* s) {
    if (before == nullptr) {
      InsertBack(s);
      return;
    }
    s->next = before;
    s->prev = before->prev;
    if (before->prev != nullptr) {
      before->prev->next = s;
    } else {
      head_ = s;
    }
    before->prev = s;
  }

  // s must be in this list.
  void Remove(Span* s) {
    if (s->prev != nullptr) {
      s->prev->next = s->next;
    } else {
      head_ = s->next;
    }
    if (s->next != nullptr) {
      s->next->prev = s->prev;
    } else {
      tail_ = s->prev;
    }
    s->prev = nullptr;
    s->next = nullptr;
  }

  // O(n); for statistics and tests.
  size_t Length() const {
    size_t n = 0;
    for (Span* s = head_; s != nullptr; s = s->next) ++n;
    return n;
  }

 private:
  Span* head_;
  Span* tail_;
};

}  // namespace rseqmalloc

#endif  // RSEQMALLOC_ALLOCATOR_SPAN_LIST_H_
