// A shared library that the dlopen test loads and unloads over and over. It allocates in its
// constructor and frees in its destructor, hands blocks to its loader and frees the loader's, so
// that memory crosses the library boundary in both directions and outlives the library.
#include <stdlib.h>
#include <string.h>

#include <map>
#include <string>
#include <vector>

namespace {

// Built when the library is loaded, destroyed when it is unloaded.
struct LoadTimeState {
  LoadTimeState() {
    for (int i = 0; i < 500; ++i) names[i] = "entry " + std::to_string(i);
  }
  std::map<int, std::string> names;
};
LoadTimeState* g_state = new LoadTimeState;
struct Unloader {
  ~Unloader() { delete g_state; }
} g_unloader;

}  // namespace

extern "C" {

// The malloc this library binds to: equal to the loader's when both use the same allocator.
__attribute__((visibility("default"))) void* plugin_malloc_address() {
  return reinterpret_cast<void*>(&malloc);
}

__attribute__((visibility("default"))) void* plugin_malloc(size_t size) { return malloc(size); }

__attribute__((visibility("default"))) void plugin_free(void* p) { free(p); }

// A C++ object with heap parts, made here and destroyed by plugin_destroy_vector (or leaked on
// purpose by the caller and destroyed after unload through its own operator delete).
__attribute__((visibility("default"))) void* plugin_make_vector(int n) {
  auto* v = new std::vector<std::string>;
  for (int i = 0; i < n; ++i) v->push_back(std::string(static_cast<size_t>(i % 200), 'x'));
  return v;
}

__attribute__((visibility("default"))) void plugin_destroy_vector(void* v) {
  delete static_cast<std::vector<std::string>*>(v);
}

// Grows a block that the loader allocated (realloc across the boundary) and returns it.
__attribute__((visibility("default"))) void* plugin_grow(void* p, size_t old_size,
                                                         size_t new_size) {
  char* q = static_cast<char*>(realloc(p, new_size));
  if (q != nullptr) memset(q + old_size, 0x5a, new_size - old_size);
  return q;
}

// How many entries the load-time state holds: proves the constructor ran.
__attribute__((visibility("default"))) int plugin_state_size() {
  return static_cast<int>(g_state->names.size());
}

}  // extern "C"
