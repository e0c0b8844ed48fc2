// Inner products of base rows with queries, computed so that each score is the same
// bits however many queries are scored together: a query answered alone, in a batch a
// client sent, or in a batch the server formed from concurrent calls (service.h), gets
// the same scores, so the same ranking, ties included. (Eigen's matrix-vector and
// matrix-matrix products sum in different orders: one query alone and the same query
// in a batch differed in the last bits of about 1 score in 2.)
//
// Every score is sum_j a[j]*b[j] in one fixed order: eight lanes, lane l summing the
// products j = l, l+8, l+16, ... of the first dims rounded down to 8 (a fused
// multiply-add where the CPU has one), the lanes added as ((0+1)+(2+3))+((4+5)+(6+7)),
// then the remaining products one by one. The file is built with -ffp-contract=off so
// the compiler fuses nothing on its own.
#pragma once

#include <cstddef>
#include <cstdint>

namespace simsearch {

// out[i * ld + r] = <base row r, query i> for r < rows, i < n. base: rows x dims,
// queries: n x dims, both row-major; ld >= rows.
void ScoreRows(const float* base, size_t rows, const float* queries, size_t n, size_t dims,
               float* out, size_t ld);

// The same over a reduced-precision copy of the rows: IEEE halves (core/half.h), each
// widened to a float and multiplied in the same order, so these scores too are the
// same bits alone and in any batch (they choose the candidates that HalfScanSearcher,
// engine/exact_searcher.h, then scores again over the float rows with ScoreOne).
void ScoreRows(const uint16_t* base, size_t rows, const float* queries, size_t n, size_t dims,
               float* out, size_t ld);

// One score, the same bits ScoreRows gives for the pair.
float ScoreOne(const float* a, const float* b, size_t dims);

// Whether this build's kernel fuses each multiply-add (rounding once) or rounds the
// product first: it depends on the CPU the build targets (-march), so tests ask.
bool ScanKernelFuses();

// The first i in [from, n) with scores[i] >= threshold (NaN never is), or n: how a top-k
// that is full skips, eight scores at a time, the rows that cannot enter it.
size_t NextAtLeast(const float* scores, size_t from, size_t n, float threshold);

}  // namespace simsearch
