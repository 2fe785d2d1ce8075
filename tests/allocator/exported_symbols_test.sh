#!/usr/bin/env bash
# librseqmalloc.so exports the allocation API and nothing else: no allocator internals, no
# Abseil, no C++ runtime symbols that would leak into the programs it is preloaded into.
set -euo pipefail
lib="$1"
exported=$(nm -D --defined-only "$lib" | awk '$2 != "B" || $3 !~ /^_/ {print $3}' | sort -u)
allowed='^(malloc|free|cfree|calloc|realloc|reallocarray|memalign|aligned_alloc|posix_memalign|valloc|pvalloc|malloc_usable_size|free_sized|free_aligned_sized|__libc_(malloc|free|calloc|realloc|memalign|valloc|pvalloc)|__posix_memalign|malloc_trim|malloc_stats|mallinfo2?|malloc_info|mallopt|pthread_create|vfork|rseqmalloc_[a-z_]+|_Znw[am].*|_Zna[am].*|_Zdl.*|_Zda.*)$'
bad=$(grep -vE "$allowed" <<<"$exported" | grep -v '^$' || true)
# TLS variables appear in the dynamic table as LOCAL (for the TLS relocations); they are not
# exported. Only GLOBAL/WEAK symbols count.
dynsyms=$(readelf --dyn-syms -W "$lib")
leaks=""
for sym in $bad; do
  bind=$(awk -v s="$sym" '$8 == s {print $5}' <<<"$dynsyms" | head -n 1)
  [[ "$bind" == LOCAL ]] || leaks+="$sym ($bind) "
done
[[ -z "$leaks" ]] || { echo "unexpected exports: $leaks"; exit 1; }
for required in malloc free calloc realloc posix_memalign aligned_alloc malloc_usable_size \
                _Znwm _ZdlPv _ZdlPvm _ZnwmSt11align_val_t rseqmalloc_rseq_status vfork; do
  grep -qx "$required" <<<"$exported" || { echo "missing export: $required"; exit 1; }
done
# C programs must not load the C++ runtime because of us (about 1.3 MiB resident): the library
# needs libc (and the dynamic loader) only.
needed=$(readelf -d "$lib" | awk '/NEEDED/ {print $NF}' | tr -d '[]' | grep -v -E '^(libc|ld-linux.*)\.so' || true)
[[ -z "$needed" ]] || { echo "needs more than libc: $needed"; exit 1; }
count=$(wc -l <<<"$exported")
echo "ok: $count symbols exported, all of the allocation API"
