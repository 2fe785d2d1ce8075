# The one list of rseqmalloc's sources for the CMake build, grouped by the compile options the
# Bazel targets give them. //tests/cmake:cmake_sources_match_bazel_test fails, naming the files
# to add or remove, when a group here differs from the .cc files of the Bazel targets that
# make librseqmalloc.so and librseqmalloc.a, or when a group's options differ from theirs.
#
# Format (the test parses it): `set(NAME` alone on a line, one item per line, `)` alone on a line.
# Paths are relative to the repository root.

# //percpu:percpu: rseq registration, per-slot slab, fences, slice extension. Built without exceptions.
set(RSEQMALLOC_PERCPU_SOURCES
  percpu/cpu_mask.cc
  percpu/fence.cc
  percpu/per_cpu_slab.cc
  percpu/possible_cpus.cc
  percpu/rseq_registration.cc
  percpu/rseq_status.cc
  percpu/rseq_suspension.cc
  percpu/slice_extension.cc
)
set(RSEQMALLOC_PERCPU_COPTS
  -fno-exceptions
)

# The allocator's internals (//allocator: back end, caches, core; //allocator/profile):
# ALLOCATOR_COPTS.
set(RSEQMALLOC_INTERNAL_SOURCES
  allocator/central_free_list.cc
  allocator/config.cc
  allocator/cpu_cache.cc
  allocator/diagnostics.cc
  allocator/extension_api.cc
  allocator/fork_handlers.cc
  allocator/heap.cc
  allocator/hugepage_system.cc
  allocator/hugepage_table.cc
  allocator/introspection.cc
  allocator/memory_release.cc
  allocator/metadata_arena.cc
  allocator/page_heap.cc
  allocator/page_heap_coalesce.cc
  allocator/page_heap_hugepages.cc
  allocator/page_heap_release.cc
  allocator/page_heap_resize.cc
  allocator/page_map.cc
  allocator/prefixed_api.cc
  allocator/profile/guarded_pool.cc
  allocator/profile/profile_writer.cc
  allocator/profile/profiler.cc
  allocator/profile/sample_table.cc
  allocator/profile/sampler.cc
  allocator/profile/stack_trace.cc
  allocator/spin_lock.cc
  allocator/statistics.cc
  allocator/system_allocator.cc
  allocator/thread_cache.cc
  allocator/transfer_cache.cc
)
set(RSEQMALLOC_INTERNAL_COPTS
  -fno-exceptions
  -fno-builtin-malloc
  -fno-builtin-calloc
  -fno-builtin-free
  -fno-builtin-realloc
)

# //allocator:malloc, the entry points that replace malloc and operator new (which may throw).
set(RSEQMALLOC_ENTRY_SOURCES
  allocator/glibc_introspection.cc
  allocator/malloc_overrides.cc
  allocator/new_delete.cc
  allocator/vfork_override.cc
)
set(RSEQMALLOC_ENTRY_COPTS
  -fno-builtin-malloc
  -fno-builtin-calloc
  -fno-builtin-free
  -fno-builtin-realloc
  -falign-functions=64
)

# Only in librseqmalloc.so, not in librseqmalloc.a (//allocator:thread_create_hook): the
# pthread_create wrapper would clash with libc's pthread_create in a static link.
set(RSEQMALLOC_SHARED_ONLY_SOURCES
  allocator/thread_create_hook.cc
)
set(RSEQMALLOC_SHARED_ONLY_COPTS
  -fno-exceptions
  -fno-builtin-malloc
  -fno-builtin-calloc
  -fno-builtin-free
  -fno-builtin-realloc
)

# The groups above, in the order the builds use them.
set(RSEQMALLOC_ARCHIVE_GROUPS PERCPU INTERNAL ENTRY)
set(RSEQMALLOC_SHARED_GROUPS PERCPU INTERNAL ENTRY SHARED_ONLY)

# The public header (installed as include/rseqmalloc.h) and the shared object's export list.
set(RSEQMALLOC_PUBLIC_HEADER allocator/rseqmalloc.h)
set(RSEQMALLOC_VERSION_SCRIPT allocator/librseqmalloc.lds)
