// A program that is not linked with rseqmalloc and does not preload it loads librseqmalloc.so with
// dlopen(), as plugins and language runtimes do, and uses the allocator through dlsym(). The load
// must succeed (its initial-exec TLS has to fit into what glibc keeps free for such libraries),
// and the memory the library's API returns must work, from several threads, in every rseq mode.
//   dlopen_library_test_bin PATH_TO_librseqmalloc.so
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace {

const char* g_library_path = nullptr;

struct Library {
  void* handle = nullptr;
  std::string error;
  void* (*malloc_fn)(size_t) = nullptr;
  void (*free_fn)(void*) = nullptr;
  void* (*calloc_fn)(size_t, size_t) = nullptr;
  void* (*realloc_fn)(void*, size_t) = nullptr;
  size_t (*usable_size_fn)(void*) = nullptr;
  size_t (*status_fn)(char*, size_t) = nullptr;
  int (*get_stat_fn)(const char*, uint64_t*) = nullptr;

  template <typename F>
  void Find(F* out, const char* name) {
    *out = reinterpret_cast<F>(dlsym(handle, name));
    if (*out == nullptr) error += std::string(" no ") + name + ";";
  }

  Library() {
    handle = dlopen(g_library_path, RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      error = dlerror();
      return;
    }
    Find(&malloc_fn, "malloc");
    Find(&free_fn, "free");
    Find(&calloc_fn, "calloc");
    Find(&realloc_fn, "realloc");
    Find(&usable_size_fn, "malloc_usable_size");
    Find(&status_fn, "rseqmalloc_rseq_status");
    Find(&get_stat_fn, "rseqmalloc_get_stat");
  }

  std::string Status() const {
    char line[256];
    status_fn(line, sizeof(line));
    return line;
  }

  uint64_t Stat(const char* name) const {
    uint64_t value = 0;
    EXPECT_EQ(get_stat_fn(name, &value), 0) << name;
    return value;
  }
};

// Loaded once: glibc never unloads a library with static TLS in use anyway.
const Library& Loaded() {
  static const Library* library = new Library();
  return *library;
}

TEST(DlopenLibrary, LoadsAndExportsTheApi) {
  const Library& lib = Loaded();
  ASSERT_NE(lib.handle, nullptr) << "dlopen(" << g_library_path << "): " << lib.error;
  ASSERT_TRUE(lib.error.empty()) << lib.error;
  // The library's malloc is its own, not the program's (glibc's) found through the global scope.
  EXPECT_NE(reinterpret_cast<void*>(lib.malloc_fn), dlsym(RTLD_DEFAULT, "malloc"));
}

TEST(DlopenLibrary, ReachesTheModeTheHarnessAskedFor) {
  const Library& lib = Loaded();
  ASSERT_NE(lib.handle, nullptr) << lib.error;
  void* warm = lib.malloc_fn(16);  // the allocator initialises on first use
  lib.free_fn(warm);
  const std::string status = lib.Status();
  printf("%s\n", status.c_str());
  const char* owner = getenv("RSEQ_TEST_EXPECT_OWNER");
  if (owner == nullptr) GTEST_SKIP() << "not run through tests/modes/run_in_mode.sh";
  EXPECT_NE(status.find(std::string("owner=") + owner + " "), std::string::npos) << status;
}

TEST(DlopenLibrary, MemoryFromTheApiWorks) {
  const Library& lib = Loaded();
  ASSERT_NE(lib.handle, nullptr) << lib.error;
  const uint64_t before = lib.Stat("application_bytes");
  std::vector<unsigned char*> blocks;
  for (size_t i = 0; i < 2000; ++i) {
    const size_t size = 1 + (i * 131) % 70000;
    auto* p = static_cast<unsigned char*>(lib.malloc_fn(size));
    ASSERT_NE(p, nullptr) << size;
    ASSERT_EQ(reinterpret_cast<uintptr_t>(p) % 8, 0u);
    ASSERT_GE(lib.usable_size_fn(p), size);
    memset(p, static_cast<int>(i & 0xff), size);
    blocks.push_back(p);
  }
  // Served by rseqmalloc: its own statistics saw them.
  EXPECT_GE(lib.Stat("application_bytes"), before + 2000);
  for (size_t i = 0; i < blocks.size(); ++i) {
    const size_t size = 1 + (i * 131) % 70000;
    for (size_t b = 0; b < size; b += 97) ASSERT_EQ(blocks[i][b], i & 0xff) << i;
    lib.free_fn(blocks[i]);
  }
  auto* zeroed = static_cast<unsigned char*>(lib.calloc_fn(1000, 7));
  ASSERT_NE(zeroed, nullptr);
  for (size_t b = 0; b < 7000; ++b) ASSERT_EQ(zeroed[b], 0) << b;
  memset(zeroed, 0x5a, 7000);
  auto* grown = static_cast<unsigned char*>(lib.realloc_fn(zeroed, 300000));
  ASSERT_NE(grown, nullptr);
  for (size_t b = 0; b < 7000; ++b) ASSERT_EQ(grown[b], 0x5a) << b;
  lib.free_fn(grown);
}

TEST(DlopenLibrary, ThreadsShareTheLoadedAllocator) {
  const Library& lib = Loaded();
  ASSERT_NE(lib.handle, nullptr) << lib.error;
  // Threads created after the load (their TLS for the library is set up at creation) and objects
  // freed by another thread than the one that allocated them.
  constexpr int kThreads = 4, kRounds = 20000;
  std::vector<std::vector<void*>> handed(kThreads);
  std::vector<int> bad(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        const size_t size = 8 + static_cast<size_t>((i * 7 + t) % 1000);
        auto* p = static_cast<unsigned char*>(lib.malloc_fn(size));
        if (p == nullptr) {
          ++bad[t];
          continue;
        }
        memset(p, t + 1, size);
        if (p[size - 1] != t + 1) ++bad[t];
        if (i % 16 == 0) {
          handed[t].push_back(p);
        } else {
          lib.free_fn(p);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(bad[t], 0) << "thread " << t;
    for (void* p : handed[(t + 1) % kThreads]) lib.free_fn(p);
  }
}

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (argc < 2) {
    fprintf(stderr, "usage: %s PATH_TO_librseqmalloc.so\n", argv[0]);
    return 2;
  }
  g_library_path = argv[1];
  return RUN_ALL_TESTS();
}
