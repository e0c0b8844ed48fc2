// Cold start (models/ncf/cold_start.h) against oracles: a ridge regression that must
// recover a planted linear map, ranked-list metrics computed by hand, the franchise
// feature as the viewer-weighted mean of related entries, and the time-split window.
#include "models/ncf/cold_start.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

namespace simsearch::ncf {
namespace {

using ::testing::DoubleNear;

Item Anime(int64_t id, std::vector<std::string> genres, std::string type, std::string start,
           std::vector<int64_t> related = {}, int64_t members = 1000) {
  Item it;
  it.id = id;
  it.title = "anime " + std::to_string(id);
  it.genres = std::move(genres);
  it.type = std::move(type);
  it.start_date = std::move(start);
  it.related = std::move(related);
  it.members = members;
  return it;
}

// Targets that are an exact linear function of the features: a small ridge recovers
// them on rows it never saw.
TEST(ContentModel, RecoversAPlantedLinearMap) {
  ContentFeatures f;
  f.dims = 6;
  const int n = 200, out = 3;
  std::mt19937 rng(5);
  std::normal_distribution<float> g;
  f.x.resize(static_cast<size_t>(n) * f.dims);
  for (float& v : f.x) v = g(rng);
  std::vector<float> w(static_cast<size_t>(f.dims) * out), b = {0.5f, -1.0f, 2.0f};
  for (float& v : w) v = g(rng);
  Tensor y(n, out);
  for (int r = 0; r < n; ++r) {
    for (int j = 0; j < out; ++j) {
      double s = b[j];
      for (int k = 0; k < f.dims; ++k)
        s += f.x[static_cast<size_t>(r) * f.dims + k] * w[static_cast<size_t>(k) * out + j];
      y.v[static_cast<size_t>(r) * out + j] = static_cast<float>(s);
    }
  }
  std::vector<uint32_t> train;
  for (uint32_t r = 0; r < 150; ++r) train.push_back(r);
  auto m = ContentModel::Fit(f, y, train, 1e-6);
  ASSERT_TRUE(m.ok()) << m.status();
  float p[3];
  for (uint32_t r = 150; r < 200; ++r) {
    m->Predict(f, r, p);
    for (int j = 0; j < out; ++j)
      EXPECT_NEAR(p[j], y.v[static_cast<size_t>(r) * out + j], 1e-3) << r << "," << j;
  }
  EXPECT_FALSE(ContentModel::Fit(f, y, {}, 1).ok()) << "nothing to learn from";
  EXPECT_FALSE(ContentModel::Fit(f, y, train, 0).ok()) << "lambda must be > 0";
}

TEST(RankedList, RecallAndNdcgWithTiesAgainstRelevantItems) {
  // Scores of 30 candidates; relevant: positions 0 (score 9, rank 1), 5 (score 5, tied with
  // non-relevant 6: ranks after it) and 29 (score -1: rank 29, outside the top 20).
  std::vector<float> s(30, 0.0f);
  s[0] = 9;
  s[1] = 10;
  s[5] = 5;
  s[6] = 5;
  s[29] = -1;
  ListMetrics m;
  AddRankedList(s, {0, 5, 29}, &m);
  // Ranks (0-based): 0 -> 1 (one higher: 10); 5 -> 3 (10, 9, and the tie 6).
  const double dcg = 1 / std::log2(3.0) + 1 / std::log2(5.0);
  const double idcg = 1 + 1 / std::log2(3.0) + 1 / std::log2(4.0);
  Finish(&m);
  EXPECT_EQ(m.users, 1u);
  EXPECT_THAT(m.recall20, DoubleNear(2.0 / 3.0, 1e-12));
  EXPECT_THAT(m.ndcg20, DoubleNear(dcg / idcg, 1e-12));
  // 25 relevant items: recall is out of 20, and a perfect ranking gets 1.
  std::vector<float> perfect(40);
  std::vector<uint32_t> rel;
  for (uint32_t i = 0; i < 40; ++i) perfect[i] = 40.0f - static_cast<float>(i);
  for (uint32_t i = 0; i < 25; ++i) rel.push_back(i);
  ListMetrics p;
  AddRankedList(perfect, rel, &p);
  Finish(&p);
  EXPECT_DOUBLE_EQ(p.recall20, 1.0);
  EXPECT_DOUBLE_EQ(p.ndcg20, 1.0);
}

TEST(ContentFeatures, FranchiseIsTheViewerWeightedMeanOfRelatedEntries) {
  auto catalog = Catalog::FromItems({Anime(1, {"Action"}, "TV", "2010-04-01"),
                                     Anime(2, {"Action"}, "TV", "2012-04-01"),
                                     Anime(3, {"Action"}, "TV", "2023-10-01", {1, 2}, 5000),
                                     Anime(4, {"Drama"}, "Movie", "", {}, 10)});
  ASSERT_TRUE(catalog.ok());
  const std::vector<int64_t> ids = {1, 2, 3, 4};
  Tensor learned(4, 2);
  learned.v = {1, 0, 0, 1, 0, 0, 0, 0};
  ContentOptions o;
  o.min_count = 1;
  o.text = false;
  const ContentFeatures f =
      BuildContentFeatures(*catalog, ids, nullptr, &learned, {30, 10, 0, 0}, o);
  // The last three dimensions: franchise (2) and "no franchise".
  const float* row3 = &f.x[2 * f.dims + f.dims - 3];
  EXPECT_FLOAT_EQ(row3[0], 0.75f);  // (30 * [1, 0] + 10 * [0, 1]) / 40
  EXPECT_FLOAT_EQ(row3[1], 0.25f);
  EXPECT_FLOAT_EQ(row3[2], 0.0f);
  const float* row4 = &f.x[3 * f.dims + f.dims - 3];
  EXPECT_FLOAT_EQ(row4[2], 1.0f) << "no related entry with viewers: the indicator";
  EXPECT_EQ(f.names.size(), static_cast<size_t>(f.dims));
  // Type and year one-hots: anime 4 is a Movie of unknown year.
  auto dim = [&](const std::string& name) {
    return static_cast<size_t>(std::find(f.names.begin(), f.names.end(), name) - f.names.begin());
  };
  EXPECT_FLOAT_EQ(f.x[3 * f.dims + dim("type:movie")], 1.0f);
  EXPECT_FLOAT_EQ(f.x[3 * f.dims + dim("year bucket 8")], 1.0f);
  EXPECT_FLOAT_EQ(f.x[2 * f.dims + dim("year bucket 7")], 1.0f) << "2023";

  // FillVectors: rows with enough viewers keep their vectors; the others are predicted.
  auto filled = FillVectors(*catalog, ids, learned, {30, 10, 0, 0}, nullptr, o, 1.0, 5);
  ASSERT_TRUE(filled.ok()) << filled.status();
  EXPECT_EQ(filled->predicted, (std::vector<uint8_t>{0, 0, 1, 1}));
  EXPECT_EQ(filled->fit_on, 2u);
  EXPECT_FLOAT_EQ(filled->vectors.v[0], 1.0f);
  EXPECT_FLOAT_EQ(filled->vectors.v[3], 1.0f);

  // A fixed shift moves only the predicted rows, along the users' mean.
  Tensor users(1, 2);
  users.v = {0, 2};  // direction [0, 0.5]
  std::vector<std::vector<uint32_t>> history(1);
  ShiftInput shift;
  shift.users = &users;
  shift.history = &history;
  shift.fixed = 4;
  auto shifted = FillVectors(*catalog, ids, learned, {30, 10, 0, 0}, nullptr, o, 1.0, 5, &shift);
  ASSERT_TRUE(shifted.ok()) << shifted.status();
  EXPECT_EQ(shifted->calibration.shift, 4.0);
  EXPECT_EQ(shifted->query_vectors.v, filled->query_vectors.v)
      << "as a query, an anime is not shifted";
  EXPECT_EQ(
      std::vector<float>(filled->query_vectors.v.begin(), filled->query_vectors.v.begin() + 4),
      std::vector<float>(learned.v.begin(), learned.v.begin() + 4))
      << "learned rows are their own queries";
  const ContentFeatures fs =
      BuildContentFeatures(*catalog, ids, nullptr, &learned, {30, 10, 0, 0}, o);
  const int m = MembersColumn(fs);
  ASSERT_GE(m, 0);
  for (int r = 0; r < 4; ++r) {
    EXPECT_FLOAT_EQ(shifted->vectors.v[r * 2], filled->vectors.v[r * 2]) << r;
    const float moved = shifted->vectors.v[r * 2 + 1] - filled->vectors.v[r * 2 + 1];
    if (r < 2) {
      EXPECT_FLOAT_EQ(moved, 0.0f) << "learned rows keep their vectors";
    } else {
      const float z = fs.x[static_cast<size_t>(r) * fs.dims + m];
      EXPECT_NE(z, 0.0f);
      EXPECT_NEAR(moved, 4 * z * 0.5, 1e-5) << r;
    }
  }
}

TEST(PopularityShift, MovesTheMeanUsersScoreByShiftTimesZ) {
  Tensor users(2, 2);
  users.v = {1, 0, 3, 2};  // mean [2, 1], |mean|^2 = 5
  const std::vector<double> dir = PopularityDirection(users);
  ASSERT_EQ(dir.size(), 2u);
  EXPECT_DOUBLE_EQ(dir[0], 0.4);
  EXPECT_DOUBLE_EQ(dir[1], 0.2);
  ContentFeatures f;
  f.dims = 2;
  f.names = {"genre:action", "log members (standardised)"};
  f.x = {1, 1.5f, 1, -2.0f, 1, 3.0f};
  ASSERT_EQ(MembersColumn(f), 1);
  Tensor v(3, 2);
  v.v = {0, 0, 1, 1, 5, 5};
  ApplyShift(f, dir, 2.0, {1, 1, 0}, &v);
  EXPECT_FLOAT_EQ(v.v[0], 1.2f);  // 2 * 1.5 * [0.4, 0.2]
  EXPECT_FLOAT_EQ(v.v[1], 0.6f);
  EXPECT_FLOAT_EQ(v.v[2], 1.0f - 1.6f);  // 2 * -2 * [0.4, 0.2]
  EXPECT_FLOAT_EQ(v.v[3], 1.0f - 0.8f);
  EXPECT_FLOAT_EQ(v.v[4], 5.0f) << "a row not flagged keeps its vector";
  // The mean user's score of row 0 moved by exactly shift * z.
  EXPECT_NEAR(2 * v.v[0] + 1 * v.v[1], 2.0 * 1.5, 1e-6);
}

// Forty anime, one a year, the same learned vector: the content model predicts the same
// vector for every one, so only the shift can order the newest ten. Ranked among
// themselves, viewers of the most popular new anime call for a shift and viewers of the
// least popular one for none; the level bound then holds the shift to what the learned
// vectors would give the newest anime in everyone's top 10.
TEST(PopularityShift, CalibrationFollowsWhatTheNewestAnimesViewersDid) {
  std::vector<Item> items;
  std::vector<int64_t> ids;
  for (int i = 1; i <= 40; ++i) {
    char date[16];
    std::snprintf(date, sizeof date, "%04d-01-01", 1999 + i);
    items.push_back(Anime(i, {"Action"}, "TV", date, {}, 100 * i));
    ids.push_back(i);
  }
  auto catalog = Catalog::FromItems(items);
  ASSERT_TRUE(catalog.ok());
  Tensor learned(40, 2);
  for (int r = 0; r < 40; ++r) learned.v[static_cast<size_t>(r) * 2] = 1;
  ContentOptions o;
  o.min_count = 1;
  o.text = o.franchise = false;
  const ContentFeatures f =
      BuildContentFeatures(*catalog, ids, nullptr, &learned, std::vector<int>(40, 10), o);
  std::vector<uint32_t> warm(40);
  for (uint32_t r = 0; r < 40; ++r) warm[r] = r;
  Tensor users(5, 2);
  for (int u = 0; u < 5; ++u) users.v[static_cast<size_t>(u) * 2] = 1;
  for (uint32_t watched :
       {39u, 30u}) {  // rows: anime 40 (the most members) or 31 (the fewest of the newest)
    std::vector<std::vector<uint32_t>> history(5, std::vector<uint32_t>{0, 1, watched});
    auto c = CalibrateShift(*catalog, ids, f, learned, warm, users, history, 1.0, 0.25,
                            DefaultShiftGrid());
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->pseudo_cold, 10u);
    EXPECT_EQ(c->newest_from, "2030-01-01");
    EXPECT_EQ(c->users, 5u);
    ASSERT_EQ(c->ndcg.size(), DefaultShiftGrid().size());
    if (watched == 39) {
      EXPECT_GT(c->by_ranking, 0.0);
      EXPECT_DOUBLE_EQ(c->ndcg.back().second, 1.0) << "shifted, the most popular comes first";
    } else {
      EXPECT_EQ(c->by_ranking, 0.0);
      EXPECT_LE(c->ndcg.back().second, c->ndcg.front().second);
    }
    // The level: with learned vectors equal to every other anime's, the newest never take
    // a top-10 slot (ties go to the others); shifted, they would: no shift is allowed.
    EXPECT_EQ(c->share_learned, 0.0);
    EXPECT_GT(c->share.back().second, 0.0);
    EXPECT_EQ(c->by_level, 0.0);
    EXPECT_EQ(c->shift, 0.0);
  }
  // Learned vectors that put the ten newest first for everyone (9 of each user's 10
  // slots: one of them is the user's own): any shift keeps them there, and the ranking
  // decides.
  Tensor strong = learned;
  for (int r = 30; r < 40; ++r) strong.v[static_cast<size_t>(r) * 2] = 2;
  std::vector<std::vector<uint32_t>> history(5, std::vector<uint32_t>{0, 1, 39});
  auto c =
      CalibrateShift(*catalog, ids, f, strong, warm, users, history, 1.0, 0.25, DefaultShiftGrid());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_DOUBLE_EQ(c->share_learned, 0.9);
  EXPECT_DOUBLE_EQ(c->share.back().second, 0.9);
  EXPECT_EQ(c->by_level, DefaultShiftGrid().back());
  EXPECT_GT(c->by_ranking, 0.0);
  EXPECT_EQ(c->shift, c->by_ranking);
  EXPECT_FALSE(
      CalibrateShift(*catalog, ids, f, learned, warm, users, {}, 1.0, 0.25, DefaultShiftGrid())
          .ok())
      << "nobody watched the newest anime";
  EXPECT_FALSE(
      CalibrateShift(*catalog, ids, f, learned, warm, users, {}, 1.0, 1.5, DefaultShiftGrid())
          .ok());
}

TEST(ColdAnime, TheWindowAfterTheCutoffUpToTheDataEnd) {
  auto catalog = Catalog::FromItems(
      {Anime(1, {}, "TV", "2022-06-30"), Anime(2, {}, "TV", "2022-07-02"),
       Anime(3, {}, "TV", "2023-01-31"), Anime(4, {}, "TV", "2023-02-01"), Anime(5, {}, "TV", ""),
       Anime(6, {}, "TV", "2022"), Anime(7, {}, "TV", "2022-06"), Anime(8, {}, "TV", "2022-07")});
  ASSERT_TRUE(catalog.ok());
  // "2022" may have started in December and "2022-07" after the 1st: both cold; "2022-06" not.
  EXPECT_EQ(ColdAnime(*catalog, "2022-07-01", "2023-01-31"), (std::vector<int64_t>{2, 3, 6, 8}));
  EXPECT_EQ(LatestDay("2022"), "2022-12-31");
  EXPECT_EQ(LatestDay("2022-07"), "2022-07-31");
  EXPECT_EQ(LatestDay("2022-07-15"), "2022-07-15");
}

}  // namespace
// The predicted rows spread about their group's mean as much as the learned rows do
// about theirs (hand-computed: learned [1, 0], [0, 1] in one group: mean [0.5, 0.5],
// mean squared distance 0.5; predicted [0.2, 0.2], [0.4, 0.2] in another: mean
// [0.3, 0.2], 0.01; factor sqrt(50)). A group of one has no spread and stays put.
TEST(ColdStart, DeshrinkQueriesSpreadsPredictedRowsAsLearnedOnes) {
  Tensor learned(5, 2);
  learned.v = {1, 0, 0, 1, 0, 0, 0, 0, 0, 0};
  Tensor queries = learned;
  queries.v[4] = 0.2f, queries.v[5] = 0.2f, queries.v[6] = 0.4f, queries.v[7] = 0.2f;
  queries.v[8] = 0.7f, queries.v[9] = 0.1f;
  const double a =
      DeshrinkQueries(learned, {0, 1}, {0, 0, 1, 1, 1}, {2010, 2010, 2023, 2023, 0}, &queries);
  EXPECT_NEAR(a, std::sqrt(50.0), 1e-5);
  EXPECT_NEAR(queries.v[4], 0.3 - 0.1 * std::sqrt(50.0), 1e-5);
  EXPECT_NEAR(queries.v[5], 0.2, 1e-5);
  EXPECT_NEAR(queries.v[6], 0.3 + 0.1 * std::sqrt(50.0), 1e-5);
  EXPECT_NEAR(queries.v[7], 0.2, 1e-5);
  EXPECT_FLOAT_EQ(queries.v[8], 0.7f) << "alone in its group";
  EXPECT_FLOAT_EQ(queries.v[9], 0.1f);
  EXPECT_EQ(std::vector<float>(queries.v.begin(), queries.v.begin() + 4),
            std::vector<float>({1, 0, 0, 1}))
      << "learned rows are left alone";
  // No predicted group with a spread: nothing changes.
  Tensor one = learned;
  EXPECT_EQ(DeshrinkQueries(learned, {0, 1}, {0, 0, 1, 0, 0}, {2010, 2010, 2023, 0, 0}, &one), 1.0);
  EXPECT_EQ(one.v, learned.v);
}

}  // namespace simsearch::ncf
