"""Comparison runner for rseqmalloc's benchmarks: runs every workload under every allocator via
LD_PRELOAD, summarizes, reports (table, CSV, Markdown) and plots. Python standard library only."""
