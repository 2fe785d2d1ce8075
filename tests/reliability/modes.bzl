"""A reliability test built once, with rseqmalloc as its malloc, and run in several rseq modes."""

load("@rules_cc//cc:defs.bzl", "cc_binary")
load("//tests/modes:modes.bzl", "rseq_mode_tests")

# glibc's registration and our own (both keyed by mm_cid), glibc's keyed by cpu_id, and the
# fallback front end without rseq. (mode_main.cc checks that the mode reached the process.)
RELIABILITY_MODES = ["glibc_mm_cid", "own_mm_cid", "glibc_cpu_id", "off"]

def reliability_test(name, srcs, deps = [], data = [], args = [], size = "medium",
                     modes = RELIABILITY_MODES, tags = []):
    """Builds NAME_bin linked with //allocator:malloc and adds NAME_<mode> per mode."""
    binary = name + "_bin"
    cc_binary(
        name = binary,
        testonly = True,
        srcs = srcs,
        malloc = "//allocator:malloc",
        deps = deps + [
            ":fault_harness",
            ":mode_main",
            "//allocator:core",
            "@system//:gtest",
        ],
    )
    rseq_mode_tests(
        name = name,
        binary = ":" + binary,
        size = size,
        tags = tags,
        modes = modes,
        args = args,
        data = data,
    )
