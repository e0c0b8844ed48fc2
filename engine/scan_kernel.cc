#include "engine/scan_kernel.h"

#include <cstring>

#if defined(__AVX__)
#include <immintrin.h>
#endif

namespace simsearch {
namespace {

// Eight floats; GCC lowers the arithmetic to AVX, or to pairs of SSE operations.
typedef float V8 __attribute__((vector_size(32)));

inline V8 Load(const float* p) {
  V8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// acc + a*b, rounded once where the CPU fuses, twice where it cannot; either way the
// same everywhere in one build.
inline V8 MulAdd(V8 a, V8 b, V8 acc) {
#if defined(__FMA__)
  return reinterpret_cast<V8>(_mm256_fmadd_ps(
      reinterpret_cast<__m256>(a), reinterpret_cast<__m256>(b), reinterpret_cast<__m256>(acc)));
#else
  return a * b + acc;
#endif
}

inline float SumLanes(V8 v) {
  return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
}

// r[t] = SumLanes(a[t]) for eight accumulators at once, in the same order: horizontal
// adds pair lanes (0+1, 2+3, ...), then pairs of pairs, then the two 128-bit halves.
inline V8 SumLanes8(const V8* a) {
#if defined(__AVX__)
  auto m = [](V8 v) { return reinterpret_cast<__m256>(v); };
  const __m256 h01 = _mm256_hadd_ps(m(a[0]), m(a[1])), h23 = _mm256_hadd_ps(m(a[2]), m(a[3]));
  const __m256 h45 = _mm256_hadd_ps(m(a[4]), m(a[5])), h67 = _mm256_hadd_ps(m(a[6]), m(a[7]));
  const __m256 h0123 = _mm256_hadd_ps(h01, h23), h4567 = _mm256_hadd_ps(h45, h67);
  return reinterpret_cast<V8>(_mm256_add_ps(_mm256_permute2f128_ps(h0123, h4567, 0x20),
                                            _mm256_permute2f128_ps(h0123, h4567, 0x31)));
#else
  V8 r;
  for (int t = 0; t < 8; ++t) r[t] = SumLanes(a[t]);
  return r;
#endif
}

// The same for four accumulators: r[t] = SumLanes(a[t]), t < 4.
inline void SumLanes4(const V8* a, float* r) {
#if defined(__AVX__)
  auto m = [](V8 v) { return reinterpret_cast<__m256>(v); };
  const __m256 h =
      _mm256_hadd_ps(_mm256_hadd_ps(m(a[0]), m(a[1])), _mm256_hadd_ps(m(a[2]), m(a[3])));
  _mm_storeu_ps(r, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
#else
  for (int t = 0; t < 4; ++t) r[t] = SumLanes(a[t]);
#endif
}

// s plus the products from `from` on, one by one.
inline float AddTail(const float* a, const float* b, size_t from, size_t dims, float s) {
  for (size_t j = from; j < dims; ++j) s += a[j] * b[j];
  return s;
}

}  // namespace

float ScoreOne(const float* a, const float* b, size_t dims) {
  V8 acc = {};
  size_t j = 0;
  for (; j + 8 <= dims; j += 8) acc = MulAdd(Load(a + j), Load(b + j), acc);
  return AddTail(a, b, j, dims, SumLanes(acc));
}

size_t NextAtLeast(const float* scores, size_t from, size_t n, float threshold) {
  size_t i = from;
#if defined(__AVX__)
  const __m256 t = _mm256_set1_ps(threshold);
  for (; i + 8 <= n; i += 8) {
    const int hits = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(scores + i), t, _CMP_GE_OQ));
    if (hits != 0) return i + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(hits)));
  }
#endif
  for (; i < n; ++i) {
    if (scores[i] >= threshold) return i;
  }
  return n;
}

// Long: the scan kernel, one loop nest unrolled by hand (eight rows against each query,
// then the tails); split, its fixed summation order would be harder to see.
void ScoreRows(const float* base, size_t rows, const float* queries, size_t n, size_t dims,
               float* out, size_t ld) {
  const size_t d8 = dims & ~size_t{7};
  const size_t d = dims;
  size_t r = 0;
  // Eight rows at a time, kept in L1 while every query passes over them: the rows are
  // read from memory once per batch, not once per query.
  for (; r + 8 <= rows; r += 8) {
    const float* b = base + r * d;
    size_t i = 0;
    // Three queries against four rows (twelve accumulators, with the four row chunks and
    // one query chunk: the 16 AVX registers), each row chunk loaded once for the three.
    for (; i + 3 <= n; i += 3) {
      const float* q0 = queries + i * d;
      const float* q1 = q0 + d;
      const float* q2 = q1 + d;
      for (size_t h = 0; h < 8; h += 4) {
        const float* b0 = b + h * d;
        V8 a[8] = {}, c[4] = {};
        for (size_t j = 0; j < d8; j += 8) {
          const V8 x0 = Load(b0 + j), x1 = Load(b0 + d + j), x2 = Load(b0 + 2 * d + j),
                   x3 = Load(b0 + 3 * d + j);
          V8 y = Load(q0 + j);
          a[0] = MulAdd(x0, y, a[0]);
          a[1] = MulAdd(x1, y, a[1]);
          a[2] = MulAdd(x2, y, a[2]);
          a[3] = MulAdd(x3, y, a[3]);
          y = Load(q1 + j);
          a[4] = MulAdd(x0, y, a[4]);
          a[5] = MulAdd(x1, y, a[5]);
          a[6] = MulAdd(x2, y, a[6]);
          a[7] = MulAdd(x3, y, a[7]);
          y = Load(q2 + j);
          c[0] = MulAdd(x0, y, c[0]);
          c[1] = MulAdd(x1, y, c[1]);
          c[2] = MulAdd(x2, y, c[2]);
          c[3] = MulAdd(x3, y, c[3]);
        }
        const V8 s = SumLanes8(a);
        float s2[4];
        SumLanes4(c, s2);
        float* o0 = out + i * ld + r + h;
        float* o1 = o0 + ld;
        float* o2 = o1 + ld;
        if (d8 == d) {  // no products left: store the sums as they are
          std::memcpy(o0, &s, 4 * sizeof(float));
          std::memcpy(o1, reinterpret_cast<const float*>(&s) + 4, 4 * sizeof(float));
          std::memcpy(o2, s2, 4 * sizeof(float));
          continue;
        }
        for (size_t t = 0; t < 4; ++t) {
          o0[t] = AddTail(b0 + t * d, q0, d8, d, s[t]);
          o1[t] = AddTail(b0 + t * d, q1, d8, d, s[4 + t]);
          o2[t] = AddTail(b0 + t * d, q2, d8, d, s2[t]);
        }
      }
    }
    // Two left: two queries against four rows.
    for (; i + 2 <= n; i += 2) {
      const float* q0 = queries + i * d;
      const float* q1 = q0 + d;
      for (size_t h = 0; h < 8; h += 4) {
        const float* b0 = b + h * d;
        V8 a[8] = {};
        for (size_t j = 0; j < d8; j += 8) {
          const V8 x0 = Load(b0 + j), x1 = Load(b0 + d + j), x2 = Load(b0 + 2 * d + j),
                   x3 = Load(b0 + 3 * d + j);
          V8 y = Load(q0 + j);
          a[0] = MulAdd(x0, y, a[0]);
          a[1] = MulAdd(x1, y, a[1]);
          a[2] = MulAdd(x2, y, a[2]);
          a[3] = MulAdd(x3, y, a[3]);
          y = Load(q1 + j);
          a[4] = MulAdd(x0, y, a[4]);
          a[5] = MulAdd(x1, y, a[5]);
          a[6] = MulAdd(x2, y, a[6]);
          a[7] = MulAdd(x3, y, a[7]);
        }
        const V8 s = SumLanes8(a);
        float* o0 = out + i * ld + r + h;
        float* o1 = o0 + ld;
        if (d8 == d) {  // no products left: store the sums as they are
          std::memcpy(o0, &s, 4 * sizeof(float));
          std::memcpy(o1, reinterpret_cast<const float*>(&s) + 4, 4 * sizeof(float));
          continue;
        }
        for (size_t t = 0; t < 4; ++t) {
          o0[t] = AddTail(b0 + t * d, q0, d8, d, s[t]);
          o1[t] = AddTail(b0 + t * d, q1, d8, d, s[4 + t]);
        }
      }
    }
    // One left (or one query in all): one query against the eight rows.
    for (; i < n; ++i) {
      const float* q0 = queries + i * d;
      V8 a0 = {}, a1 = {}, a2 = {}, a3 = {}, a4 = {}, a5 = {}, a6 = {}, a7 = {};
      for (size_t j = 0; j < d8; j += 8) {
        const V8 y = Load(q0 + j);
        a0 = MulAdd(Load(b + j), y, a0);
        a1 = MulAdd(Load(b + d + j), y, a1);
        a2 = MulAdd(Load(b + 2 * d + j), y, a2);
        a3 = MulAdd(Load(b + 3 * d + j), y, a3);
        a4 = MulAdd(Load(b + 4 * d + j), y, a4);
        a5 = MulAdd(Load(b + 5 * d + j), y, a5);
        a6 = MulAdd(Load(b + 6 * d + j), y, a6);
        a7 = MulAdd(Load(b + 7 * d + j), y, a7);
      }
      const V8 a[8] = {a0, a1, a2, a3, a4, a5, a6, a7};
      const V8 s = SumLanes8(a);
      float* o0 = out + i * ld + r;
      if (d8 == d) {  // no products left: store the sums as they are
        std::memcpy(o0, &s, sizeof s);
        continue;
      }
      for (size_t t = 0; t < 8; ++t) o0[t] = AddTail(b + t * d, q0, d8, d, s[t]);
    }
  }
  for (; r < rows; ++r) {
    for (size_t i = 0; i < n; ++i) out[i * ld + r] = ScoreOne(base + r * d, queries + i * d, d);
  }
}

}  // namespace simsearch
