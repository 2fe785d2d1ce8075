// A deliberately broken allocator for testing the workloads' self-checks: glibc's malloc, except
// that every kScribbleEvery-th allocation flips a byte in the most recently returned block that is
// still live, the way an allocator bug that hands out overlapping memory or writes free-list links
// into live objects would. A workload run under it must fail. SCRIBBLE_EVERY=N in the environment
// changes the period, for workloads that make only a few allocations (large_blocks).
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

extern "C" {
void* __libc_malloc(size_t);
void __libc_free(void*);
}

namespace {

constexpr uint64_t kDefaultScribbleEvery = 997;
constexpr int kRecent = 8;

// The last few blocks handed out, cleared when freed; guarded by a spin lock because this is
// called from inside malloc, where nothing that might allocate may be used.
std::atomic_flag recent_lock = ATOMIC_FLAG_INIT;
void* recent[kRecent];
size_t recent_size[kRecent];
int recent_next = 0;
std::atomic<uint64_t> allocations{0};

void Lock() {
  while (recent_lock.test_and_set(std::memory_order_acquire)) {
  }
}
void Unlock() { recent_lock.clear(std::memory_order_release); }

// Read on first use: getenv does not allocate, so it is safe inside malloc.
uint64_t ScribbleEvery() {
  static uint64_t every = [] {
    const char* text = std::getenv("SCRIBBLE_EVERY");
    uint64_t value = text != nullptr ? std::strtoull(text, nullptr, 10) : 0;
    return value > 0 ? value : kDefaultScribbleEvery;
  }();
  return every;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) void* malloc(size_t size) {
  void* block = __libc_malloc(size);
  if (block == nullptr || size == 0) return block;
  bool scribble = allocations.fetch_add(1, std::memory_order_relaxed) % ScribbleEvery() == 0;
  Lock();
  if (scribble) {
    for (int i = 1; i <= kRecent; ++i) {
      int slot = (recent_next - i + kRecent) % kRecent;
      if (recent[slot] != nullptr) {
        static_cast<unsigned char*>(recent[slot])[0] ^= 0x5A;
        break;
      }
    }
  }
  recent[recent_next] = block;
  recent_size[recent_next] = size;
  recent_next = (recent_next + 1) % kRecent;
  Unlock();
  return block;
}

extern "C" __attribute__((visibility("default"))) void free(void* block) {
  if (block == nullptr) return;
  Lock();
  for (int i = 0; i < kRecent; ++i) {
    if (recent[i] == block) recent[i] = nullptr;
  }
  Unlock();
  __libc_free(block);
}
