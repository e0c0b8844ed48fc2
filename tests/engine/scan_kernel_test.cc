// The scan kernel: every score the same bits however many queries share the pass,
// and close to a double-precision oracle.
#include "engine/scan_kernel.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/half.h"
#include "engine/exact_searcher.h"
#include "tests/testing/test_util.h"

namespace simsearch {
namespace {

uint32_t Bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

TEST(ScanKernel, ScoresAreTheSameBitsAloneAndInAnyBatch) {
  // Dims around the 8-lane width and rows around the 8-row tile; batch sizes odd and even.
  for (size_t dims : {1, 3, 7, 8, 9, 16, 37, 50, 64, 65, 128}) {
    for (size_t rows : {1, 5, 8, 13, 16, 67}) {
      const std::vector<float> base = testing::RandomVectors(rows, dims, 11 * dims + rows);
      // Up to two full tiles of queries (six with AVX-512, three without) and every rest.
      const size_t most = 14;
      const std::vector<float> queries = testing::RandomVectors(most, dims, 7 * dims + rows);
      for (size_t n = 1; n <= most; ++n) {
        // The batch of the first n queries, and query i alone.
        std::vector<float> batch(n * rows);
        ScoreRows(base.data(), rows, queries.data(), n, dims, batch.data(), rows);
        for (size_t i = 0; i < n; ++i) {
          std::vector<float> alone(rows);
          ScoreRows(base.data(), rows, &queries[i * dims], 1, dims, alone.data(), rows);
          for (size_t r = 0; r < rows; ++r) {
            SCOPED_TRACE(::testing::Message() << "dims=" << dims << " rows=" << rows << " n=" << n
                                              << " i=" << i << " r=" << r);
            const float one = ScoreOne(&base[r * dims], &queries[i * dims], dims);
            ASSERT_EQ(Bits(batch[i * rows + r]), Bits(alone[r]));
            ASSERT_EQ(Bits(one), Bits(alone[r]));
            // Against double precision: within float rounding of the sum of |products|.
            double exact = 0, magnitude = 0;
            for (size_t j = 0; j < dims; ++j) {
              const double p = static_cast<double>(base[r * dims + j]) * queries[i * dims + j];
              exact += p;
              magnitude += std::fabs(p);
            }
            ASSERT_NEAR(one, exact, 1e-6 * magnitude * static_cast<double>(dims) + 1e-30);
          }
        }
      }
    }
  }
}

// The order the header promises, written out one product at a time: lane l sums the
// products j = l, l+8, ... of the first dims rounded down to 8 (fused where the build
// fuses), the lanes as ((0+1)+(2+3))+((4+5)+(6+7)), then the rest one by one. Every
// score of every batch size must be these bits, so no tiling can change a score.
float ScoreInTheDocumentedOrder(const float* a, const float* b, size_t dims) {
  const size_t d8 = dims & ~size_t{7};
  const bool fused = ScanKernelFuses();
  float lane[8] = {};
  for (size_t j = 0; j < d8; ++j) {
    if (fused) {
      lane[j % 8] = std::fma(a[j], b[j], lane[j % 8]);
    } else {
      volatile float p = a[j] * b[j];  // volatile: rounded before the add, never fused
      lane[j % 8] = p + lane[j % 8];
    }
  }
  float s =
      ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
  for (size_t j = d8; j < dims; ++j) {
    volatile float p = a[j] * b[j];
    s = s + p;
  }
  return s;
}

TEST(ScanKernel, EveryScoreIsTheDocumentedSumInEveryBatchSize) {
  for (size_t dims : {8, 13, 64, 100}) {
    const size_t rows = 21;
    const std::vector<float> base = testing::RandomVectors(rows, dims, 5 * dims);
    for (size_t n : {1, 2, 3, 5, 6, 7, 12, 16, 19, 64}) {
      const std::vector<float> queries = testing::RandomVectors(n, dims, 3 * dims + n);
      std::vector<float> out(n * rows);
      ScoreRows(base.data(), rows, queries.data(), n, dims, out.data(), rows);
      for (size_t i = 0; i < n; ++i) {
        for (size_t r = 0; r < rows; ++r) {
          ASSERT_EQ(Bits(out[i * rows + r]),
                    Bits(ScoreInTheDocumentedOrder(&base[r * dims], &queries[i * dims], dims)))
              << "dims=" << dims << " n=" << n << " i=" << i << " r=" << r;
        }
      }
    }
  }
}

// Over halves: the same order, each half widened to a float first; alone and in any
// batch the same bits.
TEST(ScanKernel, HalfRowsScoreInTheDocumentedOrderInEveryBatchSize) {
  for (size_t dims : {5, 8, 13, 64, 100}) {
    const size_t rows = 21;
    const std::vector<float> base = testing::RandomVectors(rows, dims, 5 * dims);
    std::vector<uint16_t> half(base.size());
    std::vector<float> widened(base.size());
    for (size_t j = 0; j < base.size(); ++j) {
      half[j] = FloatToHalf(base[j]);
      widened[j] = HalfToFloat(half[j]);
    }
    for (size_t n : {1, 2, 3, 6, 7, 13, 64}) {
      const std::vector<float> queries = testing::RandomVectors(n, dims, 3 * dims + n);
      std::vector<float> out(n * rows);
      ScoreRows(half.data(), rows, queries.data(), n, dims, out.data(), rows);
      for (size_t i = 0; i < n; ++i) {
        for (size_t r = 0; r < rows; ++r) {
          ASSERT_EQ(Bits(out[i * rows + r]),
                    Bits(ScoreInTheDocumentedOrder(&widened[r * dims], &queries[i * dims], dims)))
              << "dims=" << dims << " n=" << n << " i=" << i << " r=" << r;
        }
      }
    }
  }
}

// The half scan then the float rescoring, against the float scan: the answers' scores
// are the float scan's bits, recall@10 is at least 0.99 on clustered data (whose near
// ties are what halves blur), a filter holds, and a query's answer is the same alone
// and in a batch.
TEST(HalfScanSearcher, AnswersAreTheFloatScansRowsAndScores) {
  const uint64_t count = 5000, dims = 48;
  const std::vector<float> base = testing::ClusteredVectors(count, dims, 40, 0.2f, 12);
  const std::vector<uint16_t> half = FloatsToHalves(base);
  ExactSearcher exact(base.data(), count, dims);
  const size_t n = 40;
  const std::vector<float> queries = testing::ClusteredVectors(n, dims, 40, 0.2f, 13);
  class EveryThird final : public RowFilter {
   public:
    bool Allows(uint32_t row) const override { return row % 3 != 0; }
  } filter;
  for (int rescore : {1, 4}) {
    HalfScanSearcher scan(base.data(), half.data(), count, dims, rescore);
    for (bool filtered : {false, true}) {
      SearchParams p;
      p.k = 10;
      if (filtered) p.filter = &filter;
      std::vector<std::vector<Neighbor>> got, want;
      ASSERT_TRUE(scan.Search(queries.data(), n, p, &got).ok());
      ASSERT_TRUE(exact.Search(queries.data(), n, p, &want).ok());
      size_t same = 0;
      for (size_t i = 0; i < n; ++i) {
        SCOPED_TRACE(::testing::Message()
                     << "rescore=" << rescore << " filtered=" << filtered << " query " << i);
        ASSERT_EQ(got[i].size(), 10u);
        for (const Neighbor& nb : got[i]) {
          EXPECT_EQ(Bits(nb.score), Bits(ScoreOne(&base[nb.row * dims], &queries[i * dims], dims)));
          if (filtered) EXPECT_TRUE(filter.Allows(nb.row));
          for (const Neighbor& w : want[i]) same += w.row == nb.row;
        }
        std::vector<std::vector<Neighbor>> alone;
        ASSERT_TRUE(scan.Search(&queries[i * dims], 1, p, &alone).ok());
        EXPECT_EQ(alone[0], got[i]);
      }
      if (rescore == 4) EXPECT_GE(same, n * 10 * 99 / 100);
      // Without rescoring candidates the halves alone decide: allowed to miss, but
      // not by much, and never with a score that is not the float scan's.
      if (rescore == 1) EXPECT_GE(same, n * 10 * 80 / 100);
    }
  }
}

TEST(ScanKernel, LeadingDimensionLeavesTheRestOfTheOutputAlone) {
  const size_t rows = 10, dims = 12, n = 3, ld = 16;
  const std::vector<float> base = testing::RandomVectors(rows, dims, 1);
  const std::vector<float> q = testing::RandomVectors(n, dims, 2);
  std::vector<float> out(n * ld, -7.0f);
  ScoreRows(base.data(), rows, q.data(), n, dims, out.data(), ld);
  for (size_t i = 0; i < n; ++i) {
    for (size_t r = rows; r < ld; ++r) EXPECT_EQ(out[i * ld + r], -7.0f) << i << " " << r;
  }
}

TEST(ScanKernel, NextAtLeastFindsWhatAPlainLoopFinds) {
  std::vector<float> s = testing::RandomVectors(1, 75, 5);
  s[20] = std::nanf("");
  s[21] = -std::numeric_limits<float>::infinity();
  for (float threshold :
       {-5.0f, -0.5f, 0.0f, 0.3f, 1.5f, 100.0f, -std::numeric_limits<float>::infinity()}) {
    for (size_t from = 0; from <= s.size(); ++from) {
      for (size_t n : {s.size(), s.size() - 3, size_t{17}}) {
        if (from > n) continue;
        size_t want = from;
        while (want < n && !(s[want] >= threshold)) ++want;
        ASSERT_EQ(NextAtLeast(s.data(), from, n, threshold), want)
            << threshold << " " << from << " " << n;
      }
    }
  }
}

// What the server's batching relies on (service.h): a query's answer from the exact
// scan is the same, scores to the bit and ties in the same order, alone or in a batch
// with any other queries, with or without a filter, and by SearchRows over the rows a
// filter allows.
TEST(ExactSearcher, AQueryAnswersTheSameBitsAloneAndInABatch) {
  const uint64_t count = 3000, dims = 40;
  std::vector<float> base = testing::RandomVectors(count, dims, 3);
  // Ties: every tenth row repeats the row before it.
  for (uint64_t r = 10; r < count; r += 10)
    std::memcpy(&base[r * dims], &base[(r - 1) * dims], dims * 4);
  const size_t n = 13;
  std::vector<float> queries = testing::RandomVectors(n, dims, 4);
  std::memcpy(&queries[5 * dims], &base[99 * dims], dims * 4);  // a query that is a tied row
  ExactSearcher s(base.data(), count, dims);
  class EveryThird final : public RowFilter {
   public:
    bool Allows(uint32_t row) const override { return row % 3 != 0; }
  } filter;
  std::vector<uint32_t> allowed;
  for (uint32_t r = 0; r < count; ++r) {
    if (filter.Allows(r)) allowed.push_back(r);
  }
  for (bool filtered : {false, true}) {
    SearchParams p;
    p.k = 25;
    if (filtered) p.filter = &filter;
    std::vector<std::vector<Neighbor>> batch;
    ASSERT_TRUE(s.Search(queries.data(), n, p, &batch).ok());
    for (size_t i = 0; i < n; ++i) {
      SCOPED_TRACE(::testing::Message() << "filtered=" << filtered << " query " << i);
      std::vector<std::vector<Neighbor>> alone;
      ASSERT_TRUE(s.Search(&queries[i * dims], 1, p, &alone).ok());
      ASSERT_EQ(alone[0], batch[i]);
      if (filtered) {
        std::vector<std::vector<Neighbor>> by_rows;
        ASSERT_TRUE(s.SearchRows(&queries[i * dims], 1, allowed, p, &by_rows).ok());
        ASSERT_EQ(alone[0], by_rows[0]);
      }
      if (i == 5) {  // rows 99 and 100 tie at the top, the lower row first
        ASSERT_GE(alone[0].size(), 2u);
        EXPECT_EQ(alone[0][0].row, filtered ? 100u : 99u);
        if (!filtered) {
          EXPECT_EQ(alone[0][1].row, 100u);
          EXPECT_EQ(Bits(alone[0][0].score), Bits(alone[0][1].score));
        }
      }
    }
  }
}

}  // namespace
}  // namespace simsearch
