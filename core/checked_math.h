// Overflow-checked size arithmetic for sizes read from file headers: a header is
// input, and a product that wraps around makes a huge declared array look small.
#pragma once

#include <cstdint>
#include <initializer_list>

namespace simsearch {

// *out = a * b; false (and *out unspecified) when the product does not fit in 64 bits.
inline bool CheckedMul(uint64_t a, uint64_t b, uint64_t* out) {
  return !__builtin_mul_overflow(a, b, out);
}

// *out = the product of `factors`; false when it does not fit in 64 bits.
inline bool CheckedProduct(std::initializer_list<uint64_t> factors, uint64_t* out) {
  uint64_t p = 1;
  for (uint64_t f : factors) {
    if (!CheckedMul(p, f, &p)) return false;
  }
  *out = p;
  return true;
}

// *out = a + b; false when the sum does not fit in 64 bits.
inline bool CheckedAdd(uint64_t a, uint64_t b, uint64_t* out) {
  return !__builtin_add_overflow(a, b, out);
}

}  // namespace simsearch
