// A C++ program for preload_program_test: under LD_PRELOAD, librseqmalloc.so reaches the C++
// runtime only through weak references (allocator/new_delete.cc), which must resolve to the
// program's libstdc++: operator new throws std::bad_alloc, the nothrow form returns nullptr,
// and a new handler runs and may end a nothrow new by throwing.
#include <cstdio>
#include <new>

namespace {
int handler_calls = 0;
}

int main() {
  const std::size_t huge = std::size_t{1} << 60;
  int failures = 0;
  try {
    void* volatile p = ::operator new(huge);
    std::printf("operator new returned %p instead of throwing\n", p);
    ++failures;
  } catch (const std::bad_alloc&) {
  }
  if (::operator new(huge, std::nothrow) != nullptr) ++failures;
  std::set_new_handler([] {
    if (++handler_calls == 3) throw std::bad_alloc();
  });
  if (::operator new(huge, std::nothrow) != nullptr || handler_calls != 3) {
    std::printf("nothrow new with a handler: %d calls\n", handler_calls);
    ++failures;
  }
  std::puts(failures == 0 ? "new ok" : "new failed");
  return failures;
}
