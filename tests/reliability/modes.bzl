"""A reliability test built once, with rseqmalloc as its malloc, and run in every rseq mode."""

load("@rules_cc//cc:defs.bzl", "cc_binary")

# The environments of run_in_mode.sh.
RSEQ_MODES = ["glibc_rseq", "own_rseq", "no_rseq"]

def reliability_test(name, srcs, deps = [], data = [], args = [], size = "medium", modes = RSEQ_MODES,
                     tags = []):
    """Builds NAME_bin linked with //allocator:malloc and adds sh_test NAME_<mode> per mode.

    A test_suite NAME runs them all.
    """
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
    tests = []
    for mode in modes:
        test = name + "_" + mode
        native.sh_test(
            name = test,
            size = size,
            srcs = ["run_in_mode.sh"],
            args = [mode, "$(location :%s)" % binary] + args,
            data = [":" + binary] + data,
            tags = tags,
        )
        tests.append(":" + test)
    native.test_suite(name = name, tests = tests, tags = tags)
