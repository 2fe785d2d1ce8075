#include "tests/toolchain/checksum.h"

namespace rseqmalloc::toolchain {

uint32_t Adler32(const void* data, size_t size) {
  constexpr uint32_t kModulus = 65521;
  const auto* bytes = static_cast<const unsigned char*>(data);
  uint32_t a = 1, b = 0;
  for (size_t i = 0; i < size; ++i) {
    a = (a + bytes[i]) % kModulus;
    b = (b + a) % kModulus;
  }
  return (b << 16) | a;
}

}  // namespace rseqmalloc::toolchain
