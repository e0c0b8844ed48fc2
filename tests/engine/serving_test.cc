// The serving choices of docs/MODELS.md, against independent oracles written here:
// "more like this" in its own space (candidates x_j * n_j/(n_j+S) / |x_j|^P) and watch
// lists folded in as a user (the regularised least-squares solution, solved here by
// Gaussian elimination on the normal equations).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

#include "engine/engine.h"
#include "engine/registry.h"
#include "retrieval/fold_in.h"
#include "tests/testing/test_util.h"

namespace simsearch {
namespace {

// Solves A x = b (n x n, row-major) by Gaussian elimination with partial pivoting.
std::vector<double> Gauss(std::vector<double> a, std::vector<double> b) {
  const size_t n = b.size();
  for (size_t c = 0; c < n; ++c) {
    size_t piv = c;
    for (size_t r = c + 1; r < n; ++r) {
      if (std::fabs(a[r * n + c]) > std::fabs(a[piv * n + c])) piv = r;
    }
    for (size_t k = 0; k < n; ++k) std::swap(a[c * n + k], a[piv * n + k]);
    std::swap(b[c], b[piv]);
    for (size_t r = c + 1; r < n; ++r) {
      const double f = a[r * n + c] / a[c * n + c];
      for (size_t k = c; k < n; ++k) a[r * n + k] -= f * a[c * n + k];
      b[r] -= f * b[c];
    }
  }
  std::vector<double> x(n);
  for (size_t r = n; r-- > 0;) {
    double t = b[r];
    for (size_t k = r + 1; k < n; ++k) t -= a[r * n + k] * x[k];
    x[r] = t / a[r * n + r];
  }
  return x;
}

// The fold-in objective's minimiser, from its definition (retrieval/fold_in.h).
std::vector<double> FoldInOracle(const std::vector<float>& all, size_t d,
                                 const std::vector<size_t>& liked,
                                 const std::vector<size_t>& disliked, double w, double alpha,
                                 double lambda, const std::vector<float>& prior = {},
                                 double mu = 0) {
  const size_t n = all.size() / d;
  std::vector<double> a(d * d, 0.0), b(d, 0.0);
  auto outer = [&](size_t row, double weight) {
    for (size_t i = 0; i < d; ++i) {
      for (size_t j = 0; j < d; ++j) a[i * d + j] += weight * all[row * d + i] * all[row * d + j];
    }
  };
  for (size_t r = 0; r < n; ++r) outer(r, alpha);
  for (size_t r : liked) {
    outer(r, 1.0);
    for (size_t i = 0; i < d; ++i) b[i] += all[r * d + i];
  }
  for (size_t r : disliked) outer(r, w);
  for (size_t i = 0; i < d; ++i) a[i * d + i] += lambda;
  // + mu |p - prior|^2: its gradient adds mu to the diagonal and mu * prior to b.
  for (size_t i = 0; i < prior.size(); ++i) {
    a[i * d + i] += mu;
    b[i] += mu * prior[i];
  }
  return Gauss(a, b);
}

TEST(FoldIn, EqualsTheLeastSquaresSolution) {
  const size_t n = 300, d = 12;
  std::vector<float> x = testing::RandomVectors(n, d, 5);
  const std::vector<float> gram = GramMatrix(x.data(), n, static_cast<int>(d));
  const std::vector<size_t> liked = {3, 17, 42, 99, 250}, disliked = {7, 8};
  std::vector<const float*> lp, dp;
  for (size_t r : liked) lp.push_back(&x[r * d]);
  for (size_t r : disliked) dp.push_back(&x[r * d]);
  std::vector<float> p(d);
  ASSERT_TRUE(
      FoldInUser(gram.data(), static_cast<int>(d), lp, dp, 0.25f, {0.05f, 2.0f}, p.data()).ok());
  const std::vector<double> want = FoldInOracle(x, d, liked, disliked, 0.25, 0.05, 2.0);
  for (size_t i = 0; i < d; ++i) EXPECT_NEAR(p[i], want[i], 1e-4 * (1 + std::fabs(want[i]))) << i;
  EXPECT_FALSE(FoldInUser(gram.data(), static_cast<int>(d), {}, {}, 1, {0.1f, 1}, p.data()).ok());
  EXPECT_FALSE(FoldInUser(gram.data(), static_cast<int>(d), lp, {}, 1, {0.1f, 0}, p.data()).ok());
  // With a prior: the minimiser of the objective with + mu |p - prior|^2.
  const std::vector<float> prior = testing::RandomVectors(1, d, 6);
  ASSERT_TRUE(FoldInUser(gram.data(), static_cast<int>(d), lp, dp, 0.25f, {0.05f, 2.0f}, p.data(),
                         prior.data(), 3.0f)
                  .ok());
  const std::vector<double> pulled =
      FoldInOracle(x, d, liked, disliked, 0.25, 0.05, 2.0, prior, 3.0);
  for (size_t i = 0; i < d; ++i)
    EXPECT_NEAR(p[i], pulled[i], 1e-4 * (1 + std::fabs(pulled[i]))) << i;
  // A very strong prior is the prior.
  ASSERT_TRUE(FoldInUser(gram.data(), static_cast<int>(d), lp, {}, 1, {0.05f, 2.0f}, p.data(),
                         prior.data(), 1e7f)
                  .ok());
  for (size_t i = 0; i < d; ++i) EXPECT_NEAR(p[i], prior[i], 1e-3) << i;
}

// The parts of a folded-in user: each liked item's is A^{-1} q_j (checked by solving the
// oracle's system with that right-hand side alone), and the parts with the prior's
// add up to the user itself.
TEST(FoldIn, PartsAreEachLikedItemsShareAndSumToTheUser) {
  const size_t n = 300, d = 10;
  std::vector<float> x = testing::RandomVectors(n, d, 8);
  const std::vector<float> gram = GramMatrix(x.data(), n, static_cast<int>(d));
  const std::vector<size_t> liked = {1, 20, 33, 140}, disliked = {5};
  std::vector<const float*> lp, dp;
  for (size_t r : liked) lp.push_back(&x[r * d]);
  for (size_t r : disliked) dp.push_back(&x[r * d]);
  const std::vector<float> prior = testing::RandomVectors(1, d, 9);
  std::vector<double> parts, prior_part;
  ASSERT_TRUE(FoldInParts(gram.data(), static_cast<int>(d), lp, dp, 0.25f, {0.05f, 2.0f},
                          prior.data(), 3.0f, &parts, &prior_part)
                  .ok());
  ASSERT_EQ(parts.size(), liked.size() * d);
  // The oracle's system (A from its definition: every item at alpha, liked at 1,
  // disliked at w, lambda + mu on the diagonal) with one liked item's right-hand side.
  for (size_t j = 0; j < liked.size(); ++j) {
    std::vector<double> want;
    {
      const size_t nn = x.size() / d;
      std::vector<double> a(d * d, 0.0), b(d, 0.0);
      auto outer = [&](size_t row, double weight) {
        for (size_t i = 0; i < d; ++i)
          for (size_t k = 0; k < d; ++k) a[i * d + k] += weight * x[row * d + i] * x[row * d + k];
      };
      for (size_t r = 0; r < nn; ++r) outer(r, 0.05);
      for (size_t r : liked) outer(r, 1.0);
      for (size_t r : disliked) outer(r, 0.25);
      for (size_t i = 0; i < d; ++i) a[i * d + i] += 2.0 + 3.0;
      for (size_t i = 0; i < d; ++i) b[i] = x[liked[j] * d + i];
      want = Gauss(a, b);
    }
    for (size_t i = 0; i < d; ++i)
      EXPECT_NEAR(parts[j * d + i], want[i], 1e-6 * (1 + std::fabs(want[i]))) << j << " " << i;
  }
  std::vector<float> p(d);
  ASSERT_TRUE(FoldInUser(gram.data(), static_cast<int>(d), lp, dp, 0.25f, {0.05f, 2.0f}, p.data(),
                         prior.data(), 3.0f)
                  .ok());
  for (size_t i = 0; i < d; ++i) {
    double sum = prior_part[i];
    for (size_t j = 0; j < liked.size(); ++j) sum += parts[j * d + i];
    EXPECT_NEAR(sum, p[i], 1e-5 * (1 + std::fabs(p[i]))) << i;
  }
}

class ServingTest : public ::testing::Test {
 protected:
  static constexpr size_t kN = 400, kD = 8;
  void SetUp() override {
    spec_.collection = "mf";
    spec_.metric = Metric::kInnerProduct;
    spec_.dims = kD;
    spec_.vectors = testing::RandomVectors(kN, kD, 9);
    for (size_t i = 0; i < kN; ++i) spec_.ids.push_back(static_cast<int64_t>(1000 + i));
    // Users with skewed item counts: item i has about (i % 40) viewers.
    std::mt19937 rng(3);
    for (int64_t u = 0; u < 50; ++u) {
      spec_.user_ids.push_back(u + 1);
      for (size_t i = 0; i < kN; ++i) {
        if (static_cast<int>(i % 40) > static_cast<int>(rng() % 50))
          spec_.user_items.emplace_back(u + 1, spec_.ids[i]);
      }
    }
    spec_.user_vectors = testing::RandomVectors(50, kD, 10);
    spec_.similar = true;
    spec_.similar_norm_power = 0.75f;
    spec_.similar_shrink = 5.0f;
    spec_.fold_in = true;
    spec_.fold_in_alpha = 0.01f;
    spec_.fold_in_lambda = 3.0f;
    testing::BuildBundleOrDie(dir_.Join("root"), dir_.path(), spec_);
    registry_ = std::make_unique<CollectionRegistry>(dir_.Join("root"), CollectionOptions{});
    ASSERT_TRUE(registry_->Refresh().ok());
    engine_ = std::make_unique<Engine>(registry_.get(), EngineLimits{});
  }
  std::map<int64_t, int> Viewers() const {
    std::map<int64_t, int> n;
    for (const auto& [u, i] : spec_.user_items) ++n[i];
    return n;
  }
  testing::TempDir dir_;
  testing::BundleSpec spec_;
  std::unique_ptr<CollectionRegistry> registry_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(ServingTest, MoreLikeThisRanksTheSimilarSpace) {
  const std::map<int64_t, int> viewers = Viewers();
  const std::vector<float>& x = spec_.vectors;
  for (size_t q : {5, 123, 399}) {
    // Oracle: q_i . x_j / |x_j|^0.75 * n_j / (n_j + 5), the item itself excluded.
    std::vector<std::pair<double, int64_t>> want;
    double qn = 0;
    for (size_t c = 0; c < kD; ++c) qn += double{x[q * kD + c]} * x[q * kD + c];
    for (size_t j = 0; j < kN; ++j) {
      if (j == q) continue;
      double dot = 0, norm2 = 0;
      for (size_t c = 0; c < kD; ++c) {
        dot += double{x[q * kD + c]} * x[j * kD + c];
        norm2 += double{x[j * kD + c]} * x[j * kD + c];
      }
      auto it = viewers.find(spec_.ids[j]);
      const double n = it == viewers.end() ? 0 : it->second;
      want.emplace_back(dot / std::sqrt(qn) / std::pow(norm2, 0.375) * n / (n + 5), spec_.ids[j]);
    }
    std::sort(want.begin(), want.end(), [](auto& a, auto& b) { return a.first > b.first; });
    auto r =
        engine_->Search("mf", {SearchQuery::Item(spec_.ids[q])}, 10, {}, absl::InfiniteFuture());
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->hits[0].size(), 10u);
    for (int k = 0; k < 10; ++k) {
      EXPECT_EQ(r->hits[0][k].id, want[k].second) << "query " << q << " rank " << k;
      EXPECT_NEAR(r->hits[0][k].score, want[k].first, 1e-4);
    }
  }
  // In a batch beside a vector query (the main space), each gets its own answer.
  auto single =
      engine_->Search("mf", {SearchQuery::Item(spec_.ids[5])}, 5, {}, absl::InfiniteFuture());
  auto vec = engine_->Search("mf", {SearchQuery::Vector(std::vector<float>(kD, 0.3f))}, 5, {},
                             absl::InfiniteFuture());
  auto batch = engine_->Search(
      "mf", {SearchQuery::Vector(std::vector<float>(kD, 0.3f)), SearchQuery::Item(spec_.ids[5])}, 5,
      {}, absl::InfiniteFuture());
  ASSERT_TRUE(single.ok() && vec.ok() && batch.ok());
  for (int k = 0; k < 5; ++k) {
    EXPECT_EQ(batch->hits[0][k].id, vec->hits[0][k].id);
    EXPECT_EQ(batch->hits[1][k].id, single->hits[0][k].id);
  }
}

TEST_F(ServingTest, WatchListsAreFoldedIn) {
  const std::vector<size_t> liked = {10, 20, 35}, disliked = {77};
  const std::vector<double> p = FoldInOracle(spec_.vectors, kD, liked, disliked, 0.5, 0.01, 3.0);
  std::vector<std::pair<double, int64_t>> want;
  for (size_t j = 0; j < kN; ++j) {
    if (j == 10 || j == 20 || j == 35 || j == 77) continue;
    double s = 0;
    for (size_t c = 0; c < kD; ++c) s += p[c] * spec_.vectors[j * kD + c];
    want.emplace_back(s, spec_.ids[j]);
  }
  std::sort(want.begin(), want.end(), [](auto& a, auto& b) { return a.first > b.first; });
  SearchQuery q =
      SearchQuery::Items({spec_.ids[10], spec_.ids[20], spec_.ids[35]}, {spec_.ids[77]});
  q.negative_weight = 0.5f;
  auto r = engine_->Search("mf", {q}, 10, {}, absl::InfiniteFuture());
  ASSERT_TRUE(r.ok()) << r.status();
  for (int k = 0; k < 10; ++k) {
    EXPECT_EQ(r->hits[0][k].id, want[k].second) << k;
    EXPECT_NEAR(r->hits[0][k].score, want[k].first, 1e-3 * (1 + std::fabs(want[k].first)));
  }
}

// Each hit's reasons: the liked items' parts of its score, each the oracle's solution
// with that item's right-hand side alone (FoldInOracle over a one-item "list" is not
// that: A would change), largest first, as fractions of the score.
TEST_F(ServingTest, ExplainedWatchListsNameEachLikedItemsPart) {
  const std::vector<size_t> liked = {10, 20, 35, 50, 61}, disliked = {77};
  SearchQuery q = SearchQuery::Items({}, {spec_.ids[77]});
  for (size_t r : liked) q.positive_ids.push_back(spec_.ids[r]);
  q.negative_weight = 0.5f;
  q.explain = true;
  auto r = engine_->Search("mf", {q}, 20, {}, absl::InfiniteFuture());
  ASSERT_TRUE(r.ok()) << r.status();
  // A, from its definition (retrieval/fold_in.h), and A^{-1} q_j per liked item.
  const std::vector<float>& x = spec_.vectors;
  std::vector<double> a(kD * kD, 0.0);
  auto outer = [&](size_t row, double w) {
    for (size_t i = 0; i < kD; ++i)
      for (size_t k = 0; k < kD; ++k) a[i * kD + k] += w * x[row * kD + i] * x[row * kD + k];
  };
  for (size_t row = 0; row < kN; ++row) outer(row, 0.01);
  for (size_t row : liked) outer(row, 1.0);
  for (size_t row : disliked) outer(row, 0.5);
  for (size_t i = 0; i < kD; ++i) a[i * kD + i] += 3.0;
  std::vector<std::vector<double>> z;
  for (size_t row : liked)
    z.push_back(Gauss(a, std::vector<double>(&x[row * kD], &x[row * kD] + kD)));
  size_t explained = 0;
  for (const Hit& h : r->hits[0]) {
    const size_t row = static_cast<size_t>(h.id - 1000);
    std::vector<std::pair<double, int64_t>> parts;
    double total = 0;
    for (size_t j = 0; j < liked.size(); ++j) {
      double part = 0;
      for (size_t i = 0; i < kD; ++i) part += z[j][i] * x[row * kD + i];
      parts.emplace_back(part, spec_.ids[liked[j]]);
      total += part;
    }
    EXPECT_NEAR(total, h.score, 1e-3 * (1 + std::fabs(h.score))) << "no prior: the parts are all";
    std::sort(parts.begin(), parts.end(), [](auto& p1, auto& p2) { return p1.first > p2.first; });
    size_t want = 0;
    while (want < 3 && want < parts.size() && parts[want].first > 0) ++want;
    if (!(total > 0)) want = 0;
    ASSERT_EQ(h.because.size(), want) << "hit " << h.id;
    for (size_t k = 0; k < want; ++k) {
      EXPECT_EQ(h.because[k].id, parts[k].second) << "hit " << h.id << " rank " << k;
      EXPECT_NEAR(h.because[k].share, parts[k].first / total, 1e-3);
    }
    explained += want > 0;
  }
  EXPECT_GT(explained, 10u) << "most of the top 20 have a positive score and reasons";
  // Unasked, no reasons.
  q.explain = false;
  auto plain = engine_->Search("mf", {q}, 20, {}, absl::InfiniteFuture());
  ASSERT_TRUE(plain.ok());
  for (const Hit& h : plain->hits[0]) EXPECT_TRUE(h.because.empty());
}

// With a fold-in prior the list is pulled toward the mean user vector with weight
// MU / (liked items): the engine answers the oracle's minimiser.
TEST_F(ServingTest, ShortWatchListsLeanOnTheMeanUser) {
  testing::BundleSpec with = spec_;
  with.collection = "mfp";
  with.fold_in_prior = 2.0f;
  testing::BuildBundleOrDie(dir_.Join("root"), dir_.path(), with);
  ASSERT_TRUE(registry_->Refresh().ok());
  std::vector<float> mean(kD, 0.0f);
  for (size_t u = 0; u < 50; ++u) {
    for (size_t c = 0; c < kD; ++c) mean[c] += with.user_vectors[u * kD + c] / 50.0f;
  }
  for (const std::vector<size_t>& liked :
       {std::vector<size_t>{10}, std::vector<size_t>{10, 20, 35, 36}}) {
    const double mu = 2.0 / static_cast<double>(liked.size());
    const std::vector<double> p =
        FoldInOracle(with.vectors, kD, liked, {}, 1.0, 0.01, 3.0, mean, mu);
    std::vector<std::pair<double, int64_t>> want;
    std::vector<int64_t> ids;
    for (size_t i : liked) ids.push_back(with.ids[i]);
    for (size_t j = 0; j < kN; ++j) {
      if (std::find(liked.begin(), liked.end(), j) != liked.end()) continue;
      double s = 0;
      for (size_t c = 0; c < kD; ++c) s += p[c] * with.vectors[j * kD + c];
      want.emplace_back(s, with.ids[j]);
    }
    std::sort(want.begin(), want.end(), [](auto& a, auto& b) { return a.first > b.first; });
    auto r = engine_->Search("mfp", {SearchQuery::Items(ids, {})}, 10, {}, absl::InfiniteFuture());
    ASSERT_TRUE(r.ok()) << r.status();
    for (int k = 0; k < 10; ++k) {
      EXPECT_EQ(r->hits[0][k].id, want[k].second) << liked.size() << " liked, hit " << k;
      EXPECT_NEAR(r->hits[0][k].score, want[k].first, 1e-3 * (1 + std::fabs(want[k].first)));
    }
  }
}

}  // namespace
}  // namespace simsearch
