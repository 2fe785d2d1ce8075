"""One sh_test per rseq mode for a GoogleTest binary (see run_in_mode.sh)."""

PERCPU_MODES = {
    "glibc_mm_cid": ["glibc", "mm_cid"],
    "glibc_cpu_id": ["glibc", "cpu_id"],
    "own_mm_cid": ["own", "mm_cid"],
    "own_cpu_id": ["own", "cpu_id"],
    "blocked": ["blocked", "auto"],
    "off": ["off", "off"],
    "glibc_no_membarrier": ["nomembarrier", "auto"],
}

def percpu_mode_tests(name, binary, size = "small", tags = []):
    tests = []
    for suffix, (mode, key) in PERCPU_MODES.items():
        test_name = name + "_" + suffix
        native.sh_test(
            name = test_name,
            size = size,
            srcs = ["//tests/percpu:run_in_mode.sh"],
            args = [
                mode,
                key,
                "$(location //tests/percpu:seccomp_no_rseq)",
                "$(location " + binary + ")",
            ],
            data = [binary, "//tests/percpu:seccomp_no_rseq"],
            tags = tags,
        )
        tests.append(test_name)
    native.test_suite(name = name, tests = tests)
