// The floor of the fast-path table: an "allocator" whose entry points do nothing meaningful, so that
// a malloc+free loop run under LD_PRELOAD of this library measures only what every allocator pays
// whatever it does: the calls through the PLT, the loop and the timer. Never use it for anything
// else. Every small request gets the same static block (nothing the benchmark loop does writes to
// it); calloc has a block of its own that nobody writes to, so it stays zero. Requests larger than
// the blocks fail with ENOMEM (libstdc++'s start-up emergency pool then simply stays empty).
#include <cerrno>
#include <cstddef>
#include <new>

namespace {

constexpr size_t kBlockBytes = 1 << 20;
alignas(4096) unsigned char g_block[kBlockBytes];
alignas(4096) unsigned char g_zero_block[kBlockBytes];

inline void* Block(size_t size) {
  if (size > kBlockBytes) {
    errno = ENOMEM;
    return nullptr;
  }
  return g_block;
}

}  // namespace

#define FLOOR_EXPORT extern "C" __attribute__((visibility("default")))

FLOOR_EXPORT void* malloc(size_t size) { return Block(size); }
FLOOR_EXPORT void free(void*) {}
FLOOR_EXPORT void free_sized(void*, size_t) {}
FLOOR_EXPORT void* aligned_alloc(size_t alignment, size_t size) {
  return alignment <= 4096 ? Block(size) : nullptr;
}
FLOOR_EXPORT void* memalign(size_t alignment, size_t size) { return aligned_alloc(alignment, size); }
FLOOR_EXPORT int posix_memalign(void** out, size_t alignment, size_t size) {
  void* block = aligned_alloc(alignment, size);
  if (block == nullptr) return ENOMEM;
  *out = block;
  return 0;
}
FLOOR_EXPORT void* calloc(size_t count, size_t size) {
  if (size != 0 && count > kBlockBytes / size) {
    errno = ENOMEM;
    return nullptr;
  }
  return g_zero_block;
}
// realloc keeps the block (it is the same block for every size that fits).
FLOOR_EXPORT void* realloc(void* old, size_t size) { return old != nullptr && size <= kBlockBytes ? old : Block(size); }
FLOOR_EXPORT size_t malloc_usable_size(void*) { return kBlockBytes; }

// The C++ operators directly, not through libstdc++'s operator new -> malloc, so that new + sized
// delete is two calls here exactly as in an allocator that defines them.
__attribute__((visibility("default"))) void* operator new(size_t size) {
  void* block = Block(size);
  if (block == nullptr) throw std::bad_alloc();
  return block;
}
__attribute__((visibility("default"))) void* operator new[](size_t size) { return operator new(size); }
__attribute__((visibility("default"))) void operator delete(void*) noexcept {}
__attribute__((visibility("default"))) void operator delete[](void*) noexcept {}
__attribute__((visibility("default"))) void operator delete(void*, size_t) noexcept {}
__attribute__((visibility("default"))) void operator delete[](void*, size_t) noexcept {}
