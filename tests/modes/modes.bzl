"""One sh_test per rseq mode for a test binary (see run_in_mode.sh)."""

# name suffix -> [mode, slot key]
RSEQ_MODES = {
    "glibc_mm_cid": ["glibc", "mm_cid"],
    "glibc_cpu_id": ["glibc", "cpu_id"],
    "own_mm_cid": ["own", "mm_cid"],
    "own_cpu_id": ["own", "cpu_id"],
    "blocked": ["blocked", "auto"],
    "off": ["off", "off"],
    "glibc_no_membarrier": ["nomembarrier", "auto"],
}

def rseq_mode_tests(name, binary, size = "small", tags = [], modes = None, args = [], data = []):
    """Adds NAME_<mode> for every mode (or the listed ones) and a test_suite NAME of them all."""
    tests = []
    for suffix, (mode, key) in RSEQ_MODES.items():
        if modes != None and suffix not in modes:
            continue
        test_name = name + "_" + suffix
        native.sh_test(
            name = test_name,
            size = size,
            srcs = ["//tests/modes:run_in_mode.sh"],
            args = [
                mode,
                key,
                "$(location //tests/modes:seccomp_no_rseq)",
                "$(location " + binary + ")",
            ] + args,
            data = [binary, "//tests/modes:seccomp_no_rseq"] + data,
            tags = tags,
        )
        tests.append(test_name)
    native.test_suite(name = name, tests = tests, tags = tags)
