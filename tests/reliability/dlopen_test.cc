// dlopen/dlclose of a library that allocates: blocks cross the boundary both ways (allocated on
// one side, freed or reallocated on the other) and some outlive the library that made them.
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/reliability/fault_harness.h"

namespace rseqmalloc {
namespace reliability {
namespace {

std::string g_plugin_path;

struct Plugin {
  void* handle = nullptr;
  void* (*malloc_address)() = nullptr;
  void* (*alloc)(size_t) = nullptr;
  void (*release)(void*) = nullptr;
  void* (*make_vector)(int) = nullptr;
  void (*destroy_vector)(void*) = nullptr;
  void* (*grow)(void*, size_t, size_t) = nullptr;
  int (*state_size)() = nullptr;

  bool Load() {
    handle = dlopen(g_plugin_path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) return false;
    malloc_address = reinterpret_cast<void* (*)()>(dlsym(handle, "plugin_malloc_address"));
    alloc = reinterpret_cast<void* (*)(size_t)>(dlsym(handle, "plugin_malloc"));
    release = reinterpret_cast<void (*)(void*)>(dlsym(handle, "plugin_free"));
    make_vector = reinterpret_cast<void* (*)(int)>(dlsym(handle, "plugin_make_vector"));
    destroy_vector = reinterpret_cast<void (*)(void*)>(dlsym(handle, "plugin_destroy_vector"));
    grow = reinterpret_cast<void* (*)(void*, size_t, size_t)>(dlsym(handle, "plugin_grow"));
    state_size = reinterpret_cast<int (*)()>(dlsym(handle, "plugin_state_size"));
    return malloc_address && alloc && release && make_vector && destroy_vector && grow &&
           state_size;
  }
};

TEST(Dlopen, PluginUsesTheProgramsMalloc) {
  Plugin plugin;
  ASSERT_TRUE(plugin.Load()) << dlerror();
  // If the library bound to another malloc, every cross-boundary free below would be a bug of
  // the test, not of the allocator.
  EXPECT_EQ(plugin.malloc_address(), reinterpret_cast<void*>(&malloc));
  EXPECT_EQ(plugin.state_size(), 500);
  EXPECT_EQ(dlclose(plugin.handle), 0);
}

TEST(Dlopen, AllocationsCrossTheBoundaryAndOutliveTheLibrary) {
  std::vector<std::pair<void*, size_t>> orphans;  // made by the library, freed after dlclose
  for (int round = 0; round < 200; ++round) {
    Plugin plugin;
    ASSERT_TRUE(plugin.Load()) << "round " << round << ": " << dlerror();
    ASSERT_EQ(plugin.state_size(), 500);
    // Library allocates, program frees.
    for (int i = 0; i < 50; ++i) {
      size_t size = 1 + (round * 50 + i) % 20000;
      void* p = plugin.alloc(size);
      ASSERT_NE(p, nullptr);
      FillPattern(p, size, round * 50 + i);
      if (i % 10 == 0) {
        orphans.push_back({p, size});
      } else {
        ASSERT_EQ(CheckPattern(p, size, round * 50 + i), size);
        free(p);
      }
    }
    // Program allocates, library reallocates and frees.
    for (int i = 0; i < 50; ++i) {
      size_t size = 16 + i * 100;
      void* p = malloc(size);
      FillPattern(p, size, i);
      void* q = plugin.grow(p, size, size * 3);
      ASSERT_NE(q, nullptr);
      ASSERT_EQ(CheckPattern(q, size, i), size);
      plugin.release(q);
    }
    // C++ objects across the boundary.
    void* v = plugin.make_vector(300);
    auto* strings = static_cast<std::vector<std::string>*>(v);
    ASSERT_EQ(strings->size(), 300u);
    strings->push_back(std::string(5000, 'y'));  // the program grows the library's object
    if (round % 2 == 0) {
      plugin.destroy_vector(v);
    } else {
      ASSERT_EQ(dlclose(plugin.handle), 0);
      delete strings;  // the library is gone; its object is ours to delete
      continue;
    }
    ASSERT_EQ(dlclose(plugin.handle), 0);
  }
  for (size_t k = 0; k < orphans.size(); ++k) {
    EXPECT_EQ(CheckPattern(orphans[k].first, orphans[k].second, (k / 5) * 50 + (k % 5) * 10),
              orphans[k].second)
        << "orphan " << k;
    free(orphans[k].first);
  }
}

}  // namespace
}  // namespace reliability
}  // namespace rseqmalloc

// The plugin's path comes as the first argument (from the BUILD file); dlopen needs it absolute.
namespace {
struct PluginPathFromArgs {
  PluginPathFromArgs() {
    FILE* f = fopen("/proc/self/cmdline", "r");
    if (f == nullptr) return;
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    std::vector<std::string> args;
    for (size_t i = 0; i < n; i += strlen(buf + i) + 1) args.push_back(buf + i);
    for (const std::string& a : args) {
      if (a.size() > 3 && a.compare(a.size() - 3, 3, ".so") == 0) {
        char* full = realpath(a.c_str(), nullptr);
        if (full != nullptr) {
          rseqmalloc::reliability::g_plugin_path = full;
          free(full);
        }
      }
    }
  }
} g_plugin_path_from_args;
}  // namespace
