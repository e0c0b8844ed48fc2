#include "core/half.h"

#include <cstring>

namespace simsearch {

uint16_t FloatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t exp = (x >> 23) & 0xFFu;
  uint32_t mant = x & 0x7FFFFFu;
  if (exp == 0xFF) return static_cast<uint16_t>(sign | 0x7C00u | (mant != 0 ? 0x200u : 0));
  // The float's unbiased exponent, rebiased for half (15).
  const int e = static_cast<int>(exp) - 127 + 15;
  if (e >= 0x1F) return static_cast<uint16_t>(sign | 0x7C00u);  // too large: infinity
  if (e <= 0) {
    // Subnormal half (or zero): the significand with its leading 1, shifted right by
    // 14 - e, rounded to nearest even. Below half the smallest subnormal: zero.
    if (e < -10) return sign;
    mant |= 0x800000u;
    const int shift = 14 - e;
    const uint32_t kept = mant >> shift;
    const uint32_t rest = mant & ((1u << shift) - 1);
    const uint32_t halfway = 1u << (shift - 1);
    const uint32_t rounded = kept + ((rest > halfway || (rest == halfway && (kept & 1))) ? 1 : 0);
    return static_cast<uint16_t>(sign | rounded);  // a carry makes the smallest normal
  }
  // Normal: 10 of the 23 significand bits, rounded to nearest even; a carry out of the
  // significand moves into the exponent, and out of the largest exponent to infinity.
  const uint32_t kept = (static_cast<uint32_t>(e) << 10) | (mant >> 13);
  const uint32_t rest = mant & 0x1FFFu;
  const uint32_t rounded = kept + ((rest > 0x1000u || (rest == 0x1000u && (kept & 1))) ? 1 : 0);
  return static_cast<uint16_t>(sign | rounded);
}

std::vector<uint16_t> FloatsToHalves(const std::vector<float>& x) {
  std::vector<uint16_t> h(x.size());
  for (size_t i = 0; i < x.size(); ++i) h[i] = FloatToHalf(x[i]);
  return h;
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t mant = h & 0x3FFu;
  uint32_t x;
  if (exp == 0x1F) {
    x = sign | 0x7F800000u | (mant << 13);
  } else if (exp != 0) {
    x = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  } else if (mant == 0) {
    x = sign;
  } else {
    // Subnormal: normalise the significand.
    int e = 1;
    while ((mant & 0x400u) == 0) {
      mant <<= 1;
      --e;
    }
    x = sign | (static_cast<uint32_t>(e - 15 + 127) << 23) | ((mant & 0x3FFu) << 13);
  }
  float f;
  std::memcpy(&f, &x, sizeof f);
  return f;
}

}  // namespace simsearch
