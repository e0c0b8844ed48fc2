// IEEE 754 binary16 ("half") conversion, in portable code: the reduced-precision copy of
// a collection's vectors (docs/FORMAT.md, "scan") is written with it, and read back by
// the scan kernel (with the CPU's F16C instructions where the build has them, which
// give the same values: a half widens to a float exactly).
#pragma once

#include <cstdint>
#include <vector>

namespace simsearch {

// The half nearest to f, ties to even; beyond the largest half (65504) an infinity of
// f's sign, NaN a quiet NaN, values below the smallest subnormal (2^-24) a signed zero.
uint16_t FloatToHalf(float f);

// The float equal to h (every half is a float).
float HalfToFloat(uint16_t h);

// The largest finite half.
inline constexpr float kLargestHalf = 65504.0f;

// FloatToHalf of every element.
std::vector<uint16_t> FloatsToHalves(const std::vector<float>& x);

}  // namespace simsearch
