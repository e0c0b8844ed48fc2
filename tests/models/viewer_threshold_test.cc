// The viewer-threshold study (models/ncf/viewer_threshold.h) and the ranks it stands on,
// against oracles: ranks by a direct count over the list, a held-out split checked
// pair by pair, a ranking computed by hand, and a blend that must equal the threshold
// it tends to.
#include "models/ncf/viewer_threshold.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <random>

namespace simsearch::ncf {
namespace {

using ::testing::DoubleNear;

// Ranks by the definition, one candidate at a time: what RanksOfRelevant computes with
// a sort.
RelevantRank DirectRank(const std::vector<float>& s, const std::vector<uint32_t>& relevant,
                        size_t a) {
  RelevantRank out;
  const float x = s[relevant[a]];
  for (size_t j = 0; j < s.size(); ++j) {
    const auto pos = std::find(relevant.begin(), relevant.end(), j);
    if (pos == relevant.end()) {
      out.negatives_above += s[j] >= x;
    } else if (j != relevant[a]) {
      const size_t b = static_cast<size_t>(pos - relevant.begin());
      out.rank += s[j] > x || (b < a && s[j] == x);
    }
  }
  out.rank += out.negatives_above;
  return out;
}

TEST(RanksOfRelevant, MatchADirectCountWithTiesAndLeftOutCandidates) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> small(0, 6);  // few values: many ties
  for (int trial = 0; trial < 200; ++trial) {
    const size_t n = 1 + rng() % 40;
    std::vector<float> s(n);
    for (float& v : s) {
      v = small(rng) == 0 ? -std::numeric_limits<float>::infinity()
                          : static_cast<float>(small(rng));
    }
    std::vector<uint32_t> relevant;  // some left out (-infinity) too: ties at the bottom
    for (uint32_t j = 0; j < n; ++j) {
      if (rng() % 4 == 0) relevant.push_back(j);
    }
    std::shuffle(relevant.begin(), relevant.end(), rng);
    const std::vector<RelevantRank> got = RanksOfRelevant(s, relevant);
    ASSERT_EQ(got.size(), relevant.size());
    for (size_t a = 0; a < relevant.size(); ++a) {
      const RelevantRank want = DirectRank(s, relevant, a);
      EXPECT_EQ(got[a].rank, want.rank) << "trial " << trial << " relevant " << a;
      EXPECT_EQ(got[a].negatives_above, want.negatives_above) << "trial " << trial;
    }
  }
}

// A user of 10 items: views (kTrain|kView), on hold (kTrain only) and dropped (listed).
Interactions TenItemUsers(uint32_t users) {
  Interactions data;
  for (uint32_t i = 0; i < 10; ++i) data.item_ids.push_back(100 + i);
  for (uint32_t u = 0; u < users; ++u) {
    data.user_ids.push_back(u);
    std::vector<uint32_t> items;
    std::vector<uint8_t> flags;
    for (uint32_t i = 0; i < 10; ++i) {
      items.push_back(i);
      flags.push_back(i < 7   ? Interactions::kTrain | Interactions::kView
                      : i < 9 ? Interactions::kTrain
                              : 0);
    }
    data.items_of_user.push_back(items);
    data.flags_of_user.push_back(flags);
  }
  // A user with a single trained pair: nothing can be held out.
  data.user_ids.push_back(users);
  data.items_of_user.push_back({0, 9});
  data.flags_of_user.push_back({Interactions::kTrain | Interactions::kView, 0});
  return data;
}

TEST(HoldOutViews, HoldsOutAShareOfViewsOnlyAndKeepsTheRest) {
  const Interactions data = TenItemUsers(50);
  const HeldOutViews h = HoldOutViews(data, 0.3, 7);
  ASSERT_EQ(h.held_out.size(), 51u);
  uint64_t total = 0;
  for (uint32_t u = 0; u < 50; ++u) {
    const auto& out = h.held_out[u];
    EXPECT_EQ(out.size(), 2u) << "round(0.3 x 7 views)";
    EXPECT_TRUE(std::is_sorted(out.begin(), out.end()));
    for (uint32_t i : out) EXPECT_LT(i, 7u) << "only views are held out";
    // Listed and held out split the user's items; train is listed without the dropped one.
    std::vector<uint32_t> all = h.split.listed[u];
    all.insert(all.end(), out.begin(), out.end());
    std::sort(all.begin(), all.end());
    EXPECT_EQ(all, data.items_of_user[u]);
    EXPECT_EQ(h.split.train[u].size(), 7u);
    EXPECT_FALSE(std::binary_search(h.split.train[u].begin(), h.split.train[u].end(), 9u));
    total += out.size();
  }
  EXPECT_TRUE(h.held_out[50].empty()) << "one trained pair: nothing to hold out";
  EXPECT_EQ(h.split.train[50], std::vector<uint32_t>{0});
  EXPECT_EQ(h.num_held_out, total);
  // Deterministic for a seed; another seed draws other views.
  EXPECT_EQ(HoldOutViews(data, 0.3, 7).held_out, h.held_out);
  EXPECT_NE(HoldOutViews(data, 0.3, 8).held_out, h.held_out);
  // A tiny share still holds one view out; a share near 1 leaves a trained pair.
  EXPECT_EQ(HoldOutViews(data, 0.01, 7).held_out[0].size(), 1u);
  EXPECT_EQ(HoldOutViews(data, 0.99, 7).held_out[0].size(), 7u) << "on hold pairs remain";
}

TEST(HoldOutUsers, TakesAShareOfUsersOutOfTrainingWhole) {
  const Interactions data = TenItemUsers(40);
  HeldOutViews h = HoldOutViews(data, 0.3, 7);
  const HeldOutViews before = h;
  const std::vector<std::vector<uint32_t>> liked = HoldOutUsers(&h, 0.25, 7);
  ASSERT_EQ(liked.size(), 41u);
  size_t out = 0;
  for (uint32_t u = 0; u < 41; ++u) {
    EXPECT_EQ(h.held_out[u], before.held_out[u]) << "the held-out views stay";
    EXPECT_EQ(h.split.listed[u], before.split.listed[u]) << "so does the list";
    if (liked[u].empty()) {
      EXPECT_EQ(h.split.train[u], before.split.train[u]) << u;
    } else {
      EXPECT_TRUE(h.split.train[u].empty()) << "a user held out whole trains nothing";
      EXPECT_EQ(liked[u], before.split.train[u]) << "their watch list: what they trained";
      ++out;
    }
  }
  EXPECT_EQ(out, 10u) << "a quarter of the 40 users with held-out views";
  EXPECT_TRUE(liked[40].empty()) << "a user with nothing held out stays";
  HeldOutViews again = HoldOutViews(data, 0.3, 7);
  EXPECT_EQ(HoldOutUsers(&again, 0.25, 7), liked) << "deterministic for a seed";
}

TEST(RankHeldOut, MetricsAndAucByViewersComputedByHand) {
  // One user u = (1, 0); rows score 5, 4, 3, 2, 1. Row 0 is on the user's list (never
  // ranked); rows 2 (1 viewer) and 4 (30 viewers) are held out.
  Tensor users(1, 2);
  users.v = {1, 0};
  Tensor vectors(5, 2);
  vectors.v = {5, 0, 4, 0, 3, 0, 2, 0, 1, 0};
  const std::vector<int64_t> ids = {1, 2, 3, 4, 5};
  const std::vector<int> viewers = {60, 8, 1, 3, 30};
  const std::vector<std::vector<uint32_t>> listed = {{0}}, held_out = {{2, 4}};
  ThresholdInput in;
  in.ids = &ids;
  in.viewers = &viewers;
  in.users = &users;
  in.listed = &listed;
  in.held_out = &held_out;
  ThresholdRow row;
  RankHeldOut(in, vectors, &row);
  // Ranks: row 2 second (row 1 above), row 4 fourth (rows 1, 2, 3 above).
  const double idcg = 1 + 1 / std::log2(3.0);
  EXPECT_EQ(row.all.users, 1u);
  EXPECT_DOUBLE_EQ(row.all.recall20, 1.0);
  EXPECT_DOUBLE_EQ(row.all.hit10, 1.0);
  EXPECT_THAT(row.all.ndcg20, DoubleNear((1 / std::log2(3.0) + 1 / std::log2(5.0)) / idcg, 1e-12));
  // Rare (under 20 viewers): row 2 only, with row 4 out of the list: still second.
  EXPECT_THAT(row.rare.ndcg20, DoubleNear(1 / std::log2(3.0), 1e-12));
  // AUC over the two negatives (rows 1 and 3): row 2 beats row 3 (0.5), row 4 neither (0).
  const std::vector<int> lower = ViewerBuckets();
  const size_t one = 1, twenty = 6;
  ASSERT_EQ(lower[one], 1);
  ASSERT_EQ(lower[twenty], 20);
  EXPECT_DOUBLE_EQ(row.auc[one], 0.5);
  EXPECT_EQ(row.pairs[one], 1u);
  EXPECT_DOUBLE_EQ(row.auc[twenty], 0.0);
  EXPECT_EQ(row.pairs[twenty], 1u);
  uint64_t pairs = 0;
  for (uint64_t p : row.pairs) pairs += p;
  EXPECT_EQ(pairs, 2u);
}

Item Anime(int64_t id, std::string genre, std::string start, int64_t members) {
  Item it;
  it.id = id;
  it.title = "anime " + std::to_string(id);
  it.genres = {std::move(genre)};
  it.type = "TV";
  it.start_date = std::move(start);
  it.members = members;
  return it;
}

TEST(StudyThresholds, PredictsBelowEachThresholdAndABlendTendsToIt) {
  // 80 anime of two genres; a user likes one genre. Learned vectors follow the genre;
  // viewers run from 1 to 80.
  std::vector<Item> items;
  std::vector<int64_t> ids;
  const int n = 80, d = 4;
  std::mt19937 rng(3);
  std::normal_distribution<float> noise(0, 0.1f);
  Tensor learned(n, d);
  std::vector<int> viewers(n);
  for (int r = 0; r < n; ++r) {
    const bool action = r % 2 == 0;
    items.push_back(Anime(1000 + r, action ? "Action" : "Romance",
                          std::to_string(1990 + r / 4) + "-04-01", 100 + 50 * r));
    ids.push_back(1000 + r);
    viewers[r] = r + 1;
    for (int c = 0; c < d; ++c) learned.row(r)[c] = noise(rng);
    learned.row(r)[action ? 0 : 1] += 1;
  }
  auto catalog = Catalog::FromItems(items);
  ASSERT_TRUE(catalog.ok());
  Tensor users(20, d);
  std::vector<std::vector<uint32_t>> history(20), listed(20), held_out(20);
  for (uint32_t u = 0; u < 20; ++u) {
    const int genre = static_cast<int>(u % 2);
    users.row(u)[genre] = 1;
    for (uint32_t r = genre; r < n; r += 2) {  // a quarter held out, a quarter not seen
      if (r % 8 < 2) {
        held_out[u].push_back(r);
      } else if (r % 8 >= 4) {
        history[u].push_back(r);
      }
    }
    listed[u] = history[u];
  }
  ThresholdInput in;
  in.catalog = &*catalog;
  in.ids = &ids;
  in.learned = &learned;
  in.viewers = &viewers;
  in.content.min_count = 1;
  in.users = &users;
  in.history = &history;
  in.listed = &listed;
  in.held_out = &held_out;
  auto rows = StudyThresholds(in, {1, 10}, {1e-9, 1e12});
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 4u);
  EXPECT_EQ((*rows)[0].predicted, 0u) << "every anime has a viewer";
  EXPECT_EQ((*rows)[1].predicted, 9u) << "1 to 9 viewers";
  // k = 1e12: the largest threshold's predictions (w ~ 1e-11); every metric equal.
  const ThresholdRow &t10 = (*rows)[1], &huge = (*rows)[3];
  EXPECT_EQ(huge.predicted, 9u);
  EXPECT_NE(t10.auc, (*rows)[0].auc) << "the checks below could not fail";
  EXPECT_THAT(huge.all.ndcg20, DoubleNear(t10.all.ndcg20, 1e-9));
  EXPECT_THAT(huge.rare.ndcg20, DoubleNear(t10.rare.ndcg20, 1e-9));
  for (size_t b = 0; b < t10.auc.size(); ++b)
    EXPECT_THAT(huge.auc[b], DoubleNear(t10.auc[b], 1e-9)) << b;
  // k ~ 0: the learned vectors, as at threshold 1.
  const ThresholdRow &t1 = (*rows)[0], &tiny = (*rows)[2];
  EXPECT_THAT(tiny.all.ndcg20, DoubleNear(t1.all.ndcg20, 1e-6));
  for (size_t b = 0; b < t1.auc.size(); ++b)
    EXPECT_THAT(tiny.auc[b], DoubleNear(t1.auc[b], 1e-6)) << b;
  EXPECT_EQ(tiny.pairs, t1.pairs);
  EXPECT_FALSE(StudyThresholds(in, {}, {}).ok());

  // Watch lists: queried from 1 viewer on (every anime: learned), ranked from 10 on,
  // equal the lists folded in through the learned vectors and ranked by the fill at 10.
  auto lists = StudyWatchLists(in, {{1, 10}});
  ASSERT_TRUE(lists.ok()) << lists.status();
  ASSERT_EQ(lists->size(), 1u);
  ShiftInput shift;
  shift.users = &users;
  shift.history = &history;
  auto fill10 =
      FillVectors(*catalog, ids, learned, viewers, nullptr, in.content, in.lambda, 10, &shift);
  ASSERT_TRUE(fill10.ok());
  ThresholdRow want;
  RankHeldOutWatchLists(in, fill10->vectors, learned, &want);
  const ThresholdRow& split = (*lists)[0];
  EXPECT_EQ(split.query, 1);
  EXPECT_EQ(split.predicted, 9u);
  EXPECT_EQ(split.all.users, 20u);
  EXPECT_DOUBLE_EQ(split.all.ndcg20, want.all.ndcg20);
  EXPECT_EQ(split.auc, want.auc);
  // The query vectors of 4:10: learned from 4 to 9 viewers (rows 3-8), the fill's
  // (predicted) below, and learned (as filled) from 10 on.
  const Tensor q = WatchListQueries(*fill10, learned, viewers, {4, 10});
  for (uint32_t r = 0; r < static_cast<uint32_t>(n); ++r) {
    const Tensor& from = r >= 3 && r <= 8 ? learned : fill10->query_vectors;
    for (int c = 0; c < d; ++c) EXPECT_EQ(q.row(r)[c], from.row(r)[c]) << r << "," << c;
    if (r < 9) {
      EXPECT_TRUE(fill10->predicted[r]) << r;
    }
  }
  EXPECT_NE(fill10->query_vectors.row(5)[0], learned.row(5)[0]) << "the check could not fail";
  EXPECT_FALSE(StudyWatchLists(in, {{10, 5}}).ok()) << "query above rank";
}

TEST(CutLists, KeepsADrawOfLAnimeOfListsLongEnough) {
  std::vector<std::vector<uint32_t>> lists;
  for (uint32_t k = 0; k < 8; ++k) {
    lists.emplace_back();
    for (uint32_t i = 0; i < k; ++i) lists.back().push_back(10 * k + i);
  }
  const auto cut = CutLists(lists, 3, 5);
  ASSERT_EQ(cut.size(), lists.size());
  for (size_t k = 0; k < lists.size(); ++k) {
    if (lists[k].size() < 3) {
      EXPECT_TRUE(cut[k].empty()) << k;
      continue;
    }
    EXPECT_EQ(cut[k].size(), 3u) << k;
    EXPECT_TRUE(std::is_sorted(cut[k].begin(), cut[k].end()));
    EXPECT_TRUE(std::includes(lists[k].begin(), lists[k].end(), cut[k].begin(), cut[k].end()));
  }
  EXPECT_EQ(cut[3], lists[3]) << "a list of exactly L stays whole";
  EXPECT_EQ(CutLists(lists, 3, 5), cut) << "deterministic for a seed";
  bool differs = false;
  for (uint64_t seed = 6; seed < 16; ++seed) differs |= CutLists(lists, 3, seed) != cut;
  EXPECT_TRUE(differs) << "other seeds draw other anime";
}

// HR@10, Recall@20 and NDCG@20 of one user's ranking by the definitions, from the
// direct rank count.
ListMetrics OneUser(const std::vector<float>& scores, const std::vector<uint32_t>& relevant) {
  ListMetrics m;
  m.users = 1;
  double dcg = 0, idcg = 0, hits = 0;
  for (size_t a = 0; a < relevant.size(); ++a) {
    const size_t rank = DirectRank(scores, relevant, a).rank;
    if (rank < 10) m.hit10 = 1;
    if (rank < 20) {
      hits += 1;
      dcg += 1 / std::log2(rank + 2.0);
    }
  }
  const size_t ideal = std::min<size_t>(relevant.size(), 20);
  for (size_t i = 0; i < ideal; ++i) idcg += 1 / std::log2(i + 2.0);
  m.recall20 = hits / static_cast<double>(ideal);
  m.ndcg20 = dcg / idcg;
  return m;
}

TEST(StudyListLengths, BaselinesMatchADirectComputationAndFoldInIsAsServed) {
  // 80 anime of two genres with learned vectors; 30 users with random histories, some
  // anime held out, half of them watch lists (in.liked) in two data sets.
  const int n = 80, d = 4;
  std::vector<Item> items;
  std::vector<int64_t> ids;
  std::mt19937 rng(9);
  std::normal_distribution<float> noise(0, 0.1f);
  Tensor learned(n, d);
  for (int r = 0; r < n; ++r) {
    const bool action = r % 2 == 0;
    items.push_back(Anime(1000 + r, action ? "Action" : "Romance",
                          std::to_string(1990 + r / 4) + "-04-01", 100 + 50 * r));
    ids.push_back(1000 + r);
    for (int c = 0; c < d; ++c) learned.row(r)[c] = noise(rng);
    learned.row(r)[action ? 0 : 1] += 1;
  }
  auto catalog = Catalog::FromItems(items);
  ASSERT_TRUE(catalog.ok());
  const uint32_t num_users = 30;
  Tensor users(num_users, d);
  std::vector<std::vector<uint32_t>> history(num_users), listed(num_users), held_out(num_users),
      liked(num_users);
  std::vector<uint16_t> group(num_users);
  std::vector<int> viewers(n, 0);
  std::uniform_real_distribution<double> coin(0, 1);
  for (uint32_t u = 0; u < num_users; ++u) {
    users.row(u)[u % 2] = 1;
    group[u] = u < 20 ? 0 : 1;
    std::vector<uint32_t>& list = u % 3 == 0 ? liked[u] : history[u];
    for (uint32_t r = 0; r < static_cast<uint32_t>(n); ++r) {
      const double x = coin(rng);
      if (x < 0.15) {
        held_out[u].push_back(r);
      } else if (x < 0.5) {
        list.push_back(r);
        listed[u].push_back(r);
      }
    }
    for (uint32_t r : history[u]) ++viewers[r];
  }
  ThresholdInput in;
  in.catalog = &*catalog;
  in.ids = &ids;
  in.learned = &learned;
  in.viewers = &viewers;
  in.content.min_count = 1;
  in.users = &users;
  in.history = &history;
  in.listed = &listed;
  in.held_out = &held_out;
  in.liked = &liked;
  in.group = &group;
  const std::vector<int> lengths = {1, 2, 1000};
  auto rows = StudyListLengths(in, {{1, 3}}, {lengths, 1000, 2, 4});
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 9u) << "popularity, item-kNN, one setting: per length";
  // The baselines' scores by their definitions.
  std::vector<std::vector<uint32_t>> users_of(n);
  for (uint32_t u = 0; u < num_users; ++u) {
    for (uint32_t r : history[u]) users_of[r].push_back(u);
  }
  auto cosine = [&](uint32_t i, uint32_t j) {
    std::vector<uint32_t> both;
    std::set_intersection(users_of[i].begin(), users_of[i].end(), users_of[j].begin(),
                          users_of[j].end(), std::back_inserter(both));
    if (both.empty()) return 0.0f;
    return static_cast<float>(both.size() / std::sqrt(static_cast<double>(users_of[i].size()) *
                                                      static_cast<double>(users_of[j].size())));
  };
  for (size_t l = 0; l < lengths.size(); ++l) {
    const auto cut = CutLists(liked, lengths[l], 4);
    for (int baseline = 0; baseline < 2; ++baseline) {
      const ThresholdRow& row = (*rows)[3 * l + baseline];
      EXPECT_EQ(row.length, lengths[l]);
      std::vector<ListMetrics> want(3);  // all, group 0, group 1
      for (uint32_t u = 0; u < num_users; ++u) {
        if (cut[u].empty() || held_out[u].empty()) continue;
        std::vector<float> scores(n, 0.0f);
        for (uint32_t j = 0; j < static_cast<uint32_t>(n); ++j) {
          if (baseline == 0) scores[j] = static_cast<float>(viewers[j]);
          for (uint32_t i : cut[u]) {
            if (baseline == 1 && i != j) scores[j] += cosine(i, j);
          }
        }
        for (uint32_t r : listed[u]) scores[r] = -std::numeric_limits<float>::infinity();
        const ListMetrics m = OneUser(scores, held_out[u]);
        for (ListMetrics* sum : {&want[0], &want[1 + group[u]]}) {
          sum->hit10 += m.hit10;
          sum->recall20 += m.recall20;
          sum->ndcg20 += m.ndcg20;
          ++sum->users;
        }
      }
      if (lengths[l] == 1000) {
        EXPECT_EQ(row.all.users, 0u) << "no list that long";
        continue;
      }
      ASSERT_EQ(row.by_group.size(), 2u);
      for (int k = 0; k < 3; ++k) {
        const ListMetrics& got = k == 0 ? row.all : row.by_group[k - 1];
        ASSERT_GT(want[k].users, 0u) << "the check could not fail";
        EXPECT_EQ(got.users, want[k].users) << row.name << " " << k;
        const double users_k = want[k].users;
        EXPECT_THAT(got.hit10, DoubleNear(want[k].hit10 / users_k, 1e-12)) << row.name << k;
        EXPECT_THAT(got.recall20, DoubleNear(want[k].recall20 / users_k, 1e-12)) << row.name;
        EXPECT_THAT(got.ndcg20, DoubleNear(want[k].ndcg20 / users_k, 1e-12)) << row.name << k;
      }
    }
    // The fold-in: RankHeldOutWatchLists on the cut lists, ranked by the fill at 3 and
    // queried as learned from 1 viewer on.
    ShiftInput shift;
    std::vector<std::vector<uint32_t>> trained_history;  // the users MF trained
    for (uint32_t u = 0; u < num_users; ++u) {
      if (!history[u].empty()) trained_history.push_back(history[u]);
    }
    Tensor trained_users(static_cast<int>(trained_history.size()), d);
    for (uint32_t u = 0, k = 0; u < num_users; ++u) {
      if (!history[u].empty()) std::copy_n(users.row(u), d, trained_users.row(k++));
    }
    shift.users = &trained_users;
    shift.history = &trained_history;
    auto fill =
        FillVectors(*catalog, ids, learned, viewers, nullptr, in.content, in.lambda, 3, &shift);
    ASSERT_TRUE(fill.ok());
    ThresholdInput cut_in = in;
    cut_in.liked = &cut;
    ThresholdRow want;
    RankHeldOutWatchLists(cut_in, fill->vectors, WatchListQueries(*fill, learned, viewers, {1, 3}),
                          &want);
    const ThresholdRow& folded = (*rows)[3 * l + 2];
    EXPECT_EQ(folded.query, 1);
    EXPECT_EQ(folded.threshold, 3);
    EXPECT_EQ(folded.length, lengths[l]);
    EXPECT_EQ(folded.all.users, want.all.users);
    EXPECT_DOUBLE_EQ(folded.all.ndcg20, want.all.ndcg20);
    EXPECT_DOUBLE_EQ(folded.all.hit10, want.all.hit10);
    // The same users as the baselines', each in its data set.
    EXPECT_EQ(folded.all.users, (*rows)[3 * l].all.users);
    if (lengths[l] < 1000) {
      ASSERT_EQ(folded.by_group.size(), 2u);
      EXPECT_EQ(folded.by_group[0].users + folded.by_group[1].users, folded.all.users);
      EXPECT_EQ(folded.by_group[1].users, (*rows)[3 * l].by_group[1].users);
      const double mean = (folded.by_group[0].ndcg20 * folded.by_group[0].users +
                           folded.by_group[1].ndcg20 * folded.by_group[1].users) /
                          folded.all.users;
      EXPECT_THAT(folded.all.ndcg20, DoubleNear(mean, 1e-12));
    }
  }
  EXPECT_FALSE(StudyListLengths(in, {{3, 1}}, {lengths, 10, 1, 4}).ok()) << "query above rank";
  in.liked = nullptr;
  EXPECT_FALSE(StudyListLengths(in, {{1, 1}}, {lengths, 10, 1, 4}).ok()) << "no lists to cut";
}

}  // namespace
}  // namespace simsearch::ncf
