#include "engine/scan_kernel.h"

#include <cstring>

#include "core/half.h"

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

// Eight halves widened to floats (exactly: every half is a float).
inline V8 Load(const uint16_t* p) {
#if defined(__F16C__)
  return reinterpret_cast<V8>(
      _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
#else
  V8 v;
  for (int l = 0; l < 8; ++l) v[l] = HalfToFloat(p[l]);
  return v;
#endif
}

inline float Widen(float x) {
  return x;
}
inline float Widen(uint16_t x) {
  return HalfToFloat(x);
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
template <typename T>
inline float AddTail(const T* a, const float* b, size_t from, size_t dims, float s) {
  for (size_t j = from; j < dims; ++j) s += Widen(a[j]) * b[j];
  return s;
}

// One score, in the order of the header.
template <typename T>
inline float OneScore(const T* a, const float* b, size_t dims) {
  V8 acc = {};
  size_t j = 0;
  for (; j + 8 <= dims; j += 8) acc = MulAdd(Load(a + j), Load(b + j), acc);
  return AddTail(a, b, j, dims, SumLanes(acc));
}

}  // namespace

bool ScanKernelFuses() {
#if defined(__FMA__)
  return true;
#else
  return false;
#endif
}

float ScoreOne(const float* a, const float* b, size_t dims) {
  return OneScore(a, b, dims);
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

namespace {

// Queries per tile: as many as the vector registers hold beside the tile's accumulators
// and its rows. With AVX-512's 32 registers: 6 queries x 4 rows = 24 accumulators, 4
// row chunks, 1 query chunk. With 16: 3 x 4 = 12, 4 row chunks, and the query chunk
// read by the multiply-add itself.
#if defined(__AVX512VL__)
constexpr size_t kTileQueries = 6;
#else
constexpr size_t kTileQueries = 3;
#endif

// Scores of R rows (b, consecutive, dims floats each) against Q queries (q, likewise):
// out[qi * ld + t]. Every row chunk is loaded once per tile and used by all Q queries.
// Each accumulator sums its products in the one order of the header, so the tile's
// shape never shows in a score.
template <size_t R, size_t Q, typename T>
__attribute__((always_inline)) inline void Tile(const T* b, const float* q, size_t d, size_t d8,
                                                float* out, size_t ld) {
  static_assert(R % 4 == 0, "the sums are taken four accumulators (rows of one query) at a time");
  V8 acc[Q * R] = {};
  for (size_t j = 0; j < d8; j += 8) {
    V8 x[R];
#pragma GCC unroll 8
    for (size_t t = 0; t < R; ++t) x[t] = Load(b + t * d + j);
#pragma GCC unroll 8
    for (size_t qi = 0; qi < Q; ++qi) {
      V8 y = Load(q + qi * d + j);
#if defined(__AVX512VL__)
      // In a register: left to itself, GCC reads the chunk again in every multiply-add
      // (R loads where one will do), and the loads, not the multiply-adds, set the pace
      // (50 against 66 GFLOP/s for 64 queries on this repository's Zen 4 VM). With 16
      // registers there is no room: the accumulators and the rows take them all.
      __asm__("" : "+x"(y));
#endif
#pragma GCC unroll 8
      for (size_t t = 0; t < R; ++t) acc[qi * R + t] = MulAdd(x[t], y, acc[qi * R + t]);
    }
  }
  // Sums of accumulators f = qi * R + t, eight at a time, then four; each four go to
  // out[qi * ld + t ..], plus the products past the last full chunk, if any.
  auto store4 = [&](size_t f, const float* s4) {
    const size_t qi = f / R, t = f % R;
    float* o = out + qi * ld + t;
    if (d8 == d) {
      std::memcpy(o, s4, 4 * sizeof(float));
      return;
    }
    for (size_t u = 0; u < 4; ++u) o[u] = AddTail(b + (t + u) * d, q + qi * d, d8, d, s4[u]);
  };
  size_t f = 0;
  for (; f + 8 <= Q * R; f += 8) {
    const V8 s8 = SumLanes8(acc + f);
    store4(f, reinterpret_cast<const float*>(&s8));
    store4(f + 4, reinterpret_cast<const float*>(&s8) + 4);
  }
  if (f < Q * R) {
    float s4[4];
    SumLanes4(acc + f, s4);
    store4(f, s4);
  }
}

// The queries from `i` on (fewer than kTileQueries) against four rows.
template <typename T>
inline void TileRest(const T* b, const float* q, size_t left, size_t d, size_t d8, float* out,
                     size_t ld) {
  switch (left) {
    case 5:
      Tile<4, 5, T>(b, q, d, d8, out, ld);
      break;
    case 4:
      Tile<4, 4, T>(b, q, d, d8, out, ld);
      break;
    case 3:
      Tile<4, 3, T>(b, q, d, d8, out, ld);
      break;
    case 2:
      Tile<4, 2, T>(b, q, d, d8, out, ld);
      break;
    case 1:
      Tile<4, 1, T>(b, q, d, d8, out, ld);
      break;
    default:
      break;
  }
}

}  // namespace

namespace {

template <typename T>
void ScoreRowsOf(const T* base, size_t rows, const float* queries, size_t n, size_t dims,
                 float* out, size_t ld) {
  const size_t d = dims, d8 = dims & ~size_t{7};
  size_t r = 0;
  if (n == 1) {
    // One query: eight rows per pass, eight independent chains to hide the latency of
    // the multiply-adds; the scan is bound by reading the rows.
    for (; r + 8 <= rows; r += 8) Tile<8, 1, T>(base + r * d, queries, d, d8, out + r, ld);
  } else {
    // Eight rows at a time, kept in L1 while every query passes over them: the rows are
    // read from memory once per batch, not once per query. Each tile of queries meets
    // the eight rows as two tiles of four, back to back, while its chunks are in L1
    // (faster than four-row groups: 79 against 67 GFLOP/s built for x86-64-v3).
    for (; r + 8 <= rows; r += 8) {
      const T* b = base + r * d;
      size_t i = 0;
      for (; i + kTileQueries <= n; i += kTileQueries) {
        Tile<4, kTileQueries, T>(b, queries + i * d, d, d8, out + i * ld + r, ld);
        Tile<4, kTileQueries, T>(b + 4 * d, queries + i * d, d, d8, out + i * ld + r + 4, ld);
      }
      TileRest(b, queries + i * d, n - i, d, d8, out + i * ld + r, ld);
      TileRest(b + 4 * d, queries + i * d, n - i, d, d8, out + i * ld + r + 4, ld);
    }
  }
  for (; r < rows; ++r) {
    for (size_t i = 0; i < n; ++i) out[i * ld + r] = OneScore(base + r * d, queries + i * d, d);
  }
}

}  // namespace

void ScoreRows(const float* base, size_t rows, const float* queries, size_t n, size_t dims,
               float* out, size_t ld) {
  ScoreRowsOf(base, rows, queries, n, dims, out, ld);
}

void ScoreRows(const uint16_t* base, size_t rows, const float* queries, size_t n, size_t dims,
               float* out, size_t ld) {
  ScoreRowsOf(base, rows, queries, n, dims, out, ld);
}

}  // namespace simsearch
