#ifndef RSEQMALLOC_TESTS_TOOLCHAIN_CHECKSUM_H_
#define RSEQMALLOC_TESTS_TOOLCHAIN_CHECKSUM_H_

#include <cstddef>
#include <cstdint>

namespace rseqmalloc::toolchain {

// Adler-32 of a byte range: a small pure function for the toolchain test to exercise.
uint32_t Adler32(const void* data, size_t size);

}  // namespace rseqmalloc::toolchain

#endif  // RSEQMALLOC_TESTS_TOOLCHAIN_CHECKSUM_H_
