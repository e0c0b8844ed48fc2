// IEEE binary16 conversion (core/half.h) against hand-computed values, against every
// half widened and narrowed again, and against the CPU's own F16C conversion where the
// build has it.
#include "core/half.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#if defined(__F16C__)
#include <immintrin.h>
#endif

namespace simsearch {
namespace {

[[maybe_unused]] uint32_t Bits(float f) {  // used where F16C is compiled in
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

TEST(Half, HandComputedValues) {
  EXPECT_EQ(FloatToHalf(0.0f), 0x0000);
  EXPECT_EQ(FloatToHalf(-0.0f), 0x8000);
  EXPECT_EQ(FloatToHalf(1.0f), 0x3C00);
  EXPECT_EQ(FloatToHalf(-2.0f), 0xC000);
  EXPECT_EQ(FloatToHalf(0.5f), 0x3800);
  EXPECT_EQ(FloatToHalf(65504.0f), 0x7BFF);                          // the largest half
  EXPECT_EQ(FloatToHalf(65520.0f), 0x7C00);                          // rounds up to infinity
  EXPECT_EQ(FloatToHalf(65519.0f), 0x7BFF);                          // just below: the largest
  EXPECT_EQ(FloatToHalf(std::ldexp(1.0f, -24)), 0x0001);             // the smallest subnormal
  EXPECT_EQ(FloatToHalf(std::ldexp(1.0f, -25)), 0x0000);             // half of it: ties to even
  EXPECT_EQ(FloatToHalf(std::ldexp(1.5f, -25)), 0x0001);             // above half: up
  EXPECT_EQ(FloatToHalf(std::ldexp(1.0f, -14)), 0x0400);             // the smallest normal
  EXPECT_EQ(FloatToHalf(1.0f + std::ldexp(1.0f, -11)), 0x3C00);      // tie: to even (down)
  EXPECT_EQ(FloatToHalf(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);  // tie: to even (up)
  EXPECT_EQ(FloatToHalf(std::numeric_limits<float>::infinity()), 0x7C00);
  EXPECT_EQ(FloatToHalf(-std::numeric_limits<float>::infinity()), 0xFC00);
  EXPECT_TRUE(std::isnan(HalfToFloat(FloatToHalf(std::nanf("")))));
  EXPECT_EQ(HalfToFloat(0x3C00), 1.0f);
  EXPECT_EQ(HalfToFloat(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(HalfToFloat(0x03FF), std::ldexp(1023.0f, -24));  // the largest subnormal
  EXPECT_EQ(HalfToFloat(0xFBFF), -65504.0f);
}

TEST(Half, EveryHalfWidensAndNarrowsBackToItself) {
  for (uint32_t h = 0; h <= 0xFFFF; ++h) {
    const float f = HalfToFloat(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(FloatToHalf(f), h) << std::hex << h;
  }
}

TEST(Half, NearestHalfWithinHalfAnUlp) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-70000.0f, 70000.0f);
  std::normal_distribution<float> g(0.0f, 0.1f);
  for (int i = 0; i < 200000; ++i) {
    const float f = i % 2 ? u(rng) : g(rng);
    const uint16_t h = FloatToHalf(f);
    const float back = HalfToFloat(h);
    if (std::fabs(f) >= 65520.0f) {
      ASSERT_TRUE(std::isinf(back)) << f;
      continue;
    }
    // The neighbours of h on each side are no nearer than h.
    for (int step : {-1, 1}) {
      const uint16_t other = static_cast<uint16_t>(h + step);
      const float o = HalfToFloat(other);
      if (std::isnan(o) || std::isinf(o) || ((other ^ h) & 0x8000)) continue;
      ASSERT_LE(std::fabs(back - f), std::fabs(o - f)) << f;
    }
#if defined(__F16C__)
    ASSERT_EQ(h, _cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT)) << f;
    ASSERT_EQ(Bits(back), Bits(_cvtsh_ss(h))) << f;
#endif
  }
}

}  // namespace
}  // namespace simsearch
