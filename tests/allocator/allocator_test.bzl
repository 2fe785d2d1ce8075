"""A test of the allocator as the program's malloc, run in every rseq mode (tests/modes)."""

load("@rules_cc//cc:defs.bzl", "cc_binary")
load("//tests/modes:modes.bzl", "rseq_mode_tests")

def allocator_mode_test(name, srcs, size = "small", gtest = "@system//:gtest_main", deps = []):
    """Builds NAME_bin with //allocator:malloc and adds NAME_<mode> for every mode.

    expected_mode_test.cc joins every such binary: it proves the mode was reached. Pass
    gtest = "@system//:gtest" for a test that has its own main().
    """
    cc_binary(
        name = name + "_bin",
        testonly = True,
        srcs = srcs + ["expected_mode_test.cc"],
        malloc = "//allocator:malloc",
        deps = [
            "//allocator:core",
            gtest,
        ] + deps,
    )
    rseq_mode_tests(name = name, size = size, binary = ":" + name + "_bin")
