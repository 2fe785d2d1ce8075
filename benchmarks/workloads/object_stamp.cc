#include "benchmarks/workloads/object_stamp.h"

#include <cstring>

namespace rseqmalloc {
namespace bench {
namespace {

// The word written at `offset` of an object stamped with `tag`: differs per offset so that an
// object copied or shifted onto another one does not pass.
uint64_t StampWord(uint64_t tag, size_t offset) {
  return tag ^ (static_cast<uint64_t>(offset) * 0xD6E8FEB86659FD93ull);
}

// The stamp is one fixed byte pattern over the whole object (word k of it is StampWord(tag, 8k));
// only some 8-byte windows of it are written. Windows may overlap (the tail window of a 12-byte
// object overlaps the head) and then write the same bytes, so the check stays exact.
unsigned char PatternByte(uint64_t tag, size_t offset) {
  return static_cast<unsigned char>(StampWord(tag, offset & ~size_t{7}) >> (8 * (offset & 7)));
}

template <typename Visit>
bool ForEachWindow(size_t size, Visit visit) {
  size_t head = size < sizeof(uint64_t) ? size : sizeof(uint64_t);
  if (!visit(0, head)) return false;
  for (size_t offset = kStampStride; offset + sizeof(uint64_t) <= size; offset += kStampStride) {
    if (!visit(offset, sizeof(uint64_t))) return false;
  }
  if (size > sizeof(uint64_t)) return visit(size - sizeof(uint64_t), sizeof(uint64_t));
  return true;
}

}  // namespace

void StampObject(void* object, size_t size, uint64_t tag) {
  auto* bytes = static_cast<unsigned char*>(object);
  ForEachWindow(size, [&](size_t offset, size_t length) {
    if (length == sizeof(uint64_t) && offset % sizeof(uint64_t) == 0) {
      uint64_t word = StampWord(tag, offset);
      std::memcpy(bytes + offset, &word, sizeof word);
    } else {
      for (size_t i = offset; i < offset + length; ++i) bytes[i] = PatternByte(tag, i);
    }
    return true;
  });
}

bool StampIntact(const void* object, size_t size, uint64_t tag) {
  const auto* bytes = static_cast<const unsigned char*>(object);
  return ForEachWindow(size, [&](size_t offset, size_t length) {
    if (length == sizeof(uint64_t) && offset % sizeof(uint64_t) == 0) {
      uint64_t word = StampWord(tag, offset);
      return std::memcmp(bytes + offset, &word, sizeof word) == 0;
    }
    for (size_t i = offset; i < offset + length; ++i) {
      if (bytes[i] != PatternByte(tag, i)) return false;
    }
    return true;
  });
}

}  // namespace bench
}  // namespace rseqmalloc
