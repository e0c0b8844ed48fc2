// Every status the engine promises, through the real client against a real server, and
// the server keeps serving after each one.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include <grpcpp/grpcpp.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/errors.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "simsearch/v1/simsearch.grpc.pb.h"

#include "tests/integration/server_fixture.h"
#include "tests/testing/test_util.h"

namespace simsearch {
namespace {

using ::testing::HasSubstr;

class ServiceTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kD = 16;

  // Built once for the suite: the big collection takes a moment.
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    testing::BundleSpec small;
    small.collection = "small";
    small.vectors = testing::RandomVectors(300, kD, 1);
    small.dims = kD;
    for (int64_t i = 1; i <= 300; ++i) small.ids.push_back(i);
    small.items = testing::SyntheticItems(small.ids);
    // A franchise of ids 11-20 (each related to the one before; alike titles): franchise 11.
    for (int64_t i = 12; i <= 20; ++i) small.items[static_cast<size_t>(i - 1)].related = {i - 1};
    // Cards' facts: a score on a coarse grid (ties), a start date, a cover, studios.
    for (Item& it : small.items) {
      if (it.id % 9 != 0) it.mal_score = 5 + static_cast<double>(it.id % 40) / 10;
      it.start_date = absl::StrFormat("%d-%02d-%02d", 1990 + it.id % 30, it.id % 12 + 1, 10);
      it.image_url = absl::StrCat("https://cdn.example/anime/", it.id, ".jpg");
      it.studios = {"Studio A", absl::StrCat("Studio ", it.id % 3)};
    }
    items_ = new std::vector<Item>(small.items);
    // Vectors 1-150 learned from `id` viewers, 151-300 predicted from content.
    small.provenance_csv = "anime_id,source,viewers\n";
    for (int64_t i = 1; i <= 300; ++i) {
      small.provenance_csv +=
          absl::StrCat(i, i <= 150 ? ",learned," : ",predicted,", i <= 150 ? i : 0, "\n");
    }
    testing::BuildBundleOrDie(dir_->Join("root"), dir_->path(), small);
    unit_ = new std::vector<float>(small.vectors);
    testing::NormalizeRows(unit_, kD);

    // Large enough that one exact query takes well over a millisecond.
    testing::BundleSpec big;
    big.collection = "big";
    big.dims = 64;
    big.vectors = testing::RandomVectors(300000, big.dims, 2);
    for (int64_t i = 0; i < 300000; ++i) big.ids.push_back(i);
    big.metric = Metric::kInnerProduct;
    testing::BuildBundleOrDie(dir_->Join("root"), dir_->path(), big);

    ServerOptions so;
    so.max_message_bytes = 64 << 10;
    srv_ = testing::InProcessServer::Start(dir_->Join("root"), so).release();
  }
  static void TearDownTestSuite() {
    delete srv_;
    delete items_;
    delete unit_;
    delete dir_;
  }
  void SetUp() override { ASSERT_NE(srv_, nullptr); }

  SearchOptions Opts(std::string collection = "small", std::optional<int> k = 10) {
    SearchOptions o;
    o.collection = std::move(collection);
    o.top_k = k;
    return o;
  }

  // The server still answers a good query.
  void ExpectStillServing() {
    auto hits = srv_->client->Search(SearchQuery::Item(1), Opts());
    ASSERT_TRUE(hits.ok()) << hits.status();
    EXPECT_EQ(hits->size(), 10u);
  }

  void ExpectStatus(const absl::Status& st, absl::StatusCode code, const std::string& text) {
    EXPECT_EQ(st.code(), code) << st;
    EXPECT_THAT(st.message(), HasSubstr(text));
    ExpectStillServing();
  }

  static inline testing::TempDir* dir_ = nullptr;
  static inline std::vector<float>* unit_ = nullptr;
  static inline std::vector<Item>* items_ = nullptr;
  static inline testing::InProcessServer* srv_ = nullptr;
};

TEST_F(ServiceTest, SearchMatchesBruteForceWithMetadata) {
  std::vector<float> q = testing::RandomVectors(1, kD, 9);
  auto hits = srv_->client->Search(SearchQuery::Vector(q), Opts("small", 12));
  ASSERT_TRUE(hits.ok()) << hits.status();
  std::vector<float> qn = q;
  testing::NormalizeRows(&qn, kD);
  auto want = testing::BruteForceTopK(*unit_, kD, qn.data(), 12);
  ASSERT_EQ(hits->size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ((*hits)[i].id, static_cast<int64_t>(want[i].row) + 1);
    EXPECT_NEAR((*hits)[i].score, want[i].score, 1e-5);
    EXPECT_EQ((*hits)[i].item.title, "Title " + std::to_string((*hits)[i].id));
  }
}

// Every item says where its vector came from, in hits and in GetItems, exactly as the
// bundle recorded it; a collection that recorded nothing says nothing.
TEST_F(ServiceTest, ItemsSayWhereTheirVectorsCameFrom) {
  auto hits = srv_->client->Search(SearchQuery::Item(1), Opts("small", 50));
  ASSERT_TRUE(hits.ok()) << hits.status();
  ASSERT_EQ(hits->size(), 50u);
  for (const ClientHit& h : *hits) {
    EXPECT_EQ(h.item.vector_source,
              h.id <= 150 ? Item::VectorSource::kLearned : Item::VectorSource::kPredicted)
        << h.id;
    EXPECT_EQ(h.item.viewers, h.id <= 150 ? h.id : 0) << h.id;
  }
  auto items = srv_->client->GetItems("small", {7, 200});
  ASSERT_TRUE(items.ok()) << items.status();
  EXPECT_EQ((*items)[0].item.vector_source, Item::VectorSource::kLearned);
  EXPECT_EQ((*items)[0].item.viewers, 7);
  EXPECT_EQ((*items)[1].item.vector_source, Item::VectorSource::kPredicted);
  auto big = srv_->client->GetItems("big", {7});
  ASSERT_TRUE(big.ok()) << big.status();
  EXPECT_EQ((*big)[0].item.vector_source, Item::VectorSource::kUnknown);
  EXPECT_EQ((*big)[0].item.viewers, 0);
}

// Browsing through the wire: a listing of a season by score, against sorting the items
// by hand, every card's facts intact, pages concatenating.
TEST_F(ServiceTest, ListItemsThroughTheWire) {
  ListRequest r;
  r.filter.min_start_year = 2000;
  r.filter.max_start_year = 2009;
  r.filter.seasons = {2};  // spring: April-June (the 10th: no late-premiere shift)
  std::vector<const Item*> want;
  for (const Item& it : *items_) {
    if (it.start_year() >= 2000 && it.start_year() <= 2009 && it.season() == "spring")
      want.push_back(&it);
  }
  std::stable_sort(want.begin(), want.end(), [](const Item* a, const Item* b) {
    if ((a->mal_score > 0) != (b->mal_score > 0)) return a->mal_score > 0;
    if (a->mal_score != b->mal_score) return a->mal_score > b->mal_score;
    if (a->members != b->members) return a->members > b->members;
    return a->id < b->id;
  });
  ASSERT_GT(want.size(), 10u);
  std::vector<Item> got;
  r.page_size = 4;
  for (int page = 0; page < 100; ++page) {
    auto p = srv_->client->ListItems("small", r);
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_EQ(p->total, static_cast<int64_t>(want.size()));
    got.insert(got.end(), p->items.begin(), p->items.end());
    if (p->next_page_token.empty()) break;
    r.page_token = p->next_page_token;
  }
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].id, want[i]->id) << i;
    EXPECT_DOUBLE_EQ(got[i].mal_score, want[i]->mal_score);
    EXPECT_EQ(got[i].start_date, want[i]->start_date);
    EXPECT_EQ(got[i].season(), "spring");
    EXPECT_EQ(got[i].image_url, want[i]->image_url);
    EXPECT_EQ(got[i].studios, want[i]->studios);
  }
  // A bad listing is refused naming its field, through the wire too.
  ListRequest bad;
  bad.filter.seasons = {7};
  auto refused = srv_->client->ListItems("small", bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(DetailOf(refused.status()).field, "filter.seasons") << refused.status();
}

// A watch list's reasons through the wire: on this cosine collection the query is the
// mean of the liked items, so a liked item's part of a hit's score is their cosine
// over the list's size.
TEST_F(ServiceTest, ExplainedWatchListsThroughTheWire) {
  const std::vector<int64_t> liked = {3, 40, 77, 150};
  SearchQuery q = SearchQuery::Items(liked);
  q.explain = true;
  auto hits = srv_->client->Search(q, Opts("small", 10));
  ASSERT_TRUE(hits.ok()) << hits.status();
  for (const ClientHit& h : *hits) {
    const float* x = &(*unit_)[static_cast<size_t>(h.id - 1) * kD];
    std::vector<std::pair<double, int64_t>> parts;
    double total = 0;
    for (int64_t j : liked) {
      const float* v = &(*unit_)[static_cast<size_t>(j - 1) * kD];
      double dot = 0;
      for (size_t i = 0; i < kD; ++i) dot += double{x[i]} * v[i];
      parts.emplace_back(dot / liked.size(), j);
      total += dot / liked.size();
    }
    std::sort(parts.begin(), parts.end(), [](auto& a, auto& b) { return a.first > b.first; });
    ASSERT_FALSE(h.because.empty()) << "the top hits of a mean query score above zero";
    for (size_t k = 0; k < h.because.size(); ++k) {
      EXPECT_EQ(h.because[k].first, parts[k].second) << h.id;
      EXPECT_NEAR(h.because[k].second, parts[k].first / total, 1e-4) << h.id;
    }
  }
}

// Per-call knobs travel from the client library through gRPC to the engine: a score
// threshold cuts the list exactly, and a bad beam is refused naming the field.
TEST_F(ServiceTest, SearchParamsReachTheEngine) {
  auto all = srv_->client->Search(SearchQuery::Item(5), Opts("small", 20));
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 20u);
  SearchOptions cut = Opts("small", 20);
  cut.knobs.min_score = (*all)[6].score;
  auto hits = srv_->client->Search(SearchQuery::Item(5), cut);
  ASSERT_TRUE(hits.ok()) << hits.status();
  size_t want = 0;
  while (want < all->size() && (*all)[want].score >= (*all)[6].score) ++want;
  ASSERT_EQ(hits->size(), want);
  for (size_t j = 0; j < want; ++j) EXPECT_EQ((*hits)[j].id, (*all)[j].id);
  SearchOptions exact = Opts("small", 20);
  exact.knobs.exact = true;
  auto same = srv_->client->BatchSearch({SearchQuery::Item(5)}, exact);
  ASSERT_TRUE(same.ok()) << same.status();
  ASSERT_EQ((*same)[0].size(), 20u);
  for (size_t j = 0; j < 20; ++j) EXPECT_EQ((*same)[0][j].id, (*all)[j].id) << "flat: exact";
  SearchOptions bad = Opts();
  bad.knobs.ef = 0;
  ExpectStatus(srv_->client->Search(SearchQuery::Item(5), bad).status(),
               absl::StatusCode::kInvalidArgument, "ef must be between 1 and 4096, got 0");
}

// Pages through the wire (engine/paging.h has the index-kind cases).
TEST_F(ServiceTest, PagesThroughTheWire) {
  auto whole = srv_->client->Search(SearchQuery::Item(5), Opts("small", 45));
  ASSERT_TRUE(whole.ok()) << whole.status();
  std::vector<int64_t> want, got;
  for (const ClientHit& h : *whole) want.push_back(h.id);
  SearchOptions o = Opts("small", 45);
  std::string next;
  o.next_page_token = &next;
  o.knobs.page_size = 20;
  int pages = 0;
  do {
    auto page = srv_->client->Search(SearchQuery::Item(5), o);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const ClientHit& h : *page) got.push_back(h.id);
    o.knobs.page_token = next;
    ++pages;
  } while (!next.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(got, want);
  o.knobs.page_token = "bogus";
  ExpectStatus(srv_->client->Search(SearchQuery::Item(5), o).status(),
               absl::StatusCode::kInvalidArgument, "page_token is not one this service issued");
  ExpectStatus(srv_->client->BatchSearch({SearchQuery::Item(5)}, o).status(),
               absl::StatusCode::kInvalidArgument, "a batch takes page_tokens");
  // A batch: each query its own pages.
  SearchOptions b = Opts("small", 45);
  std::vector<std::string> tokens;
  b.next_page_tokens = &tokens;
  b.knobs.page_size = 30;
  std::vector<int64_t> first_query, second_query;
  for (int page = 0; page < 3; ++page) {
    auto r = srv_->client->BatchSearch({SearchQuery::Item(5), SearchQuery::Item(9)}, b);
    ASSERT_TRUE(r.ok()) << r.status();
    for (const ClientHit& h : (*r)[0]) first_query.push_back(h.id);
    for (const ClientHit& h : (*r)[1]) second_query.push_back(h.id);
    ASSERT_EQ(tokens.size(), 2u);
    if (tokens[0].empty() && tokens[1].empty()) break;
    b.knobs.page_tokens = tokens;
  }
  EXPECT_EQ(first_query, want);
  auto nine = srv_->client->Search(SearchQuery::Item(9), Opts("small", 45));
  ASSERT_TRUE(nine.ok());
  ASSERT_EQ(second_query.size(), nine->size());
  for (size_t i = 0; i < nine->size(); ++i) EXPECT_EQ(second_query[i], (*nine)[i].id);
}

// LookupTitleRequest counts with top_k, as every request does; limit is its older name.
TEST_F(ServiceTest, TitleCountIsTopKWithLimitItsOlderName) {
  auto stub = v1::SimSearch::NewStub(
      grpc::CreateChannel(srv_->address(), grpc::InsecureChannelCredentials()));
  auto ask = [&](std::optional<int> top_k, std::optional<int> limit, v1::LookupTitleResponse* r) {
    v1::LookupTitleRequest req;
    req.set_collection("small");
    req.set_query("title");
    if (top_k) req.set_top_k(*top_k);
    if (limit) req.set_limit(*limit);
    grpc::ClientContext ctx;
    return stub->LookupTitle(&ctx, req, r);
  };
  v1::LookupTitleResponse a, b, c;
  ASSERT_TRUE(ask(3, std::nullopt, &a).ok());
  ASSERT_TRUE(ask(std::nullopt, 3, &b).ok());
  EXPECT_EQ(a.matches_size(), 3);
  EXPECT_EQ(a.SerializeAsString(), b.SerializeAsString());
  EXPECT_EQ(ask(3, 4, &c).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ask(101, std::nullopt, &c).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

// GetItems over several collections: which of the ids each holds, in one call.
TEST_F(ServiceTest, GetItemsAcrossCollections) {
  auto r = srv_->client->GetItemsIn({"small", "big"}, {5, 299999, 0, 7}, true);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].collection, "small");
  ASSERT_EQ((*r)[0].items.size(), 2u);
  EXPECT_EQ((*r)[0].items[0].item.id, 5);
  EXPECT_EQ((*r)[0].items[1].item.id, 7);
  EXPECT_EQ((*r)[0].items[0].vector.size(), kD);
  EXPECT_EQ((*r)[0].missing_ids, (std::vector<int64_t>{299999, 0}));
  EXPECT_EQ((*r)[1].collection, "big");
  EXPECT_EQ((*r)[1].items.size(), 4u);
  EXPECT_TRUE((*r)[1].missing_ids.empty());
  EXPECT_FALSE((*r)[1].version.empty());
  auto single = srv_->client->GetItems("small", {5});
  ASSERT_TRUE(single.ok());
  EXPECT_EQ((*r)[0].items[0].item.title, (*single)[0].item.title);
  // What a client asks an engine from before `collections`: the same answer.
  auto old_way =
      srv_->client->GetItemsInOneByOne({"small", "big"}, {5, 299999, 0, 7}, true, std::nullopt);
  ASSERT_TRUE(old_way.ok()) << old_way.status();
  for (size_t c = 0; c < 2; ++c) {
    EXPECT_EQ((*old_way)[c].missing_ids, (*r)[c].missing_ids);
    ASSERT_EQ((*old_way)[c].items.size(), (*r)[c].items.size());
    for (size_t i = 0; i < (*r)[c].items.size(); ++i) {
      EXPECT_EQ((*old_way)[c].items[i].item.id, (*r)[c].items[i].item.id);
      EXPECT_EQ((*old_way)[c].items[i].vector, (*r)[c].items[i].vector);
    }
  }
  EXPECT_EQ(ReasonOf(srv_->client->GetItemsInOneByOne({"nope"}, {5}, false, std::nullopt).status()),
            "COLLECTION_NOT_FOUND");
  const absl::Status unknown = srv_->client->GetItemsIn({"small", "nope"}, {5}).status();
  EXPECT_EQ(ReasonOf(unknown), "COLLECTION_NOT_FOUND");
  const absl::Status twice = srv_->client->GetItemsIn({"small", "small"}, {5}).status();
  EXPECT_EQ(DetailOf(twice).field, "collections[1]");
  ExpectStatus(twice, absl::StatusCode::kInvalidArgument, "a collection is named twice");
}

TEST_F(ServiceTest, DefaultTopKIsTenAndBatchWorks) {
  SearchOptions o = Opts("small", std::nullopt);
  auto hits = srv_->client->Search(SearchQuery::Item(5), o);
  ASSERT_TRUE(hits.ok());
  EXPECT_EQ(hits->size(), 10u);
  auto batch = srv_->client->BatchSearch({SearchQuery::Item(5), SearchQuery::Items({1, 2})},
                                         Opts("small", 3));
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->size(), 2u);
  EXPECT_EQ((*batch)[0][0].id, (*hits)[0].id);
}

TEST_F(ServiceTest, ItemsTitlesAndCollections) {
  auto items = srv_->client->GetItems("small", {7, 3}, true);
  ASSERT_TRUE(items.ok()) << items.status();
  ASSERT_EQ(items->size(), 2u);
  EXPECT_EQ((*items)[0].item.id, 7);
  ASSERT_EQ((*items)[0].vector.size(), kD);
  EXPECT_NEAR((*items)[0].vector[0], (*unit_)[6 * kD], 1e-7);
  auto titles = srv_->client->LookupTitle("small", "title 42", 3);
  ASSERT_TRUE(titles.ok());
  ASSERT_FALSE(titles->matches.empty());
  EXPECT_EQ(titles->matches[0].item.id, 42);
  EXPECT_FLOAT_EQ(titles->matches[0].score, 1.0f);
  auto list = srv_->client->ListCollections();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "big");
  EXPECT_EQ((*list)[1].name, "small");
  EXPECT_EQ((*list)[1].metric, "cosine");
  EXPECT_EQ((*list)[1].count, 300);
  auto d = srv_->client->DescribeCollection("small");
  ASSERT_TRUE(d.ok());
  EXPECT_THAT(d->genres, ::testing::Contains("Horror"));
  EXPECT_THAT(d->types, ::testing::ElementsAre("Movie", "OVA", "TV"));
  EXPECT_TRUE(srv_->client->CheckHealth().ok());
  EXPECT_TRUE(srv_->client->CheckHealth("simsearch.v1.SimSearch").ok());
}

TEST_F(ServiceTest, NotFound) {
  ExpectStatus(srv_->client->Search(SearchQuery::Item(1), Opts("nope")).status(),
               absl::StatusCode::kNotFound, "unknown collection 'nope'; served: big, small");
  ExpectStatus(srv_->client->Search(SearchQuery::Item(4242), Opts()).status(),
               absl::StatusCode::kNotFound, "item 4242 is not in collection 'small'");
  ExpectStatus(srv_->client->GetItems("small", {1, 999}).status(), absl::StatusCode::kNotFound,
               "item 999");
  ExpectStatus(srv_->client->DescribeCollection("nope").status(), absl::StatusCode::kNotFound,
               "unknown collection");
}

TEST_F(ServiceTest, InvalidArgument) {
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  ExpectStatus(srv_->client->Search(SearchQuery::Vector({1, 2, 3}), Opts()).status(), kInvalid,
               "has 3 components but collection 'small' has 16 dimensions");
  std::vector<float> nan(kD, 0.5f);
  nan[4] = std::nanf("");
  ExpectStatus(srv_->client->Search(SearchQuery::Vector(nan), Opts()).status(), kInvalid,
               "component 4 is NaN");
  std::vector<float> inf(kD, 0.5f);
  inf[0] = INFINITY;
  ExpectStatus(srv_->client->Search(SearchQuery::Vector(inf), Opts()).status(), kInvalid,
               "component 0 is Inf");
  ExpectStatus(srv_->client->Search(SearchQuery::Item(1), Opts("small", 0)).status(), kInvalid,
               "top_k must be between 1 and 1000, got 0");
  ExpectStatus(srv_->client->Search(SearchQuery::Item(1), Opts("small", 1001)).status(), kInvalid,
               "got 1001");
  ExpectStatus(srv_->client->Search(SearchQuery::Item(1), Opts("small", -5)).status(), kInvalid,
               "got -5");
  ExpectStatus(srv_->client->Search(SearchQuery{}, Opts()).status(), kInvalid, "empty query");
  ExpectStatus(srv_->client->Search(SearchQuery::Vector({}), Opts()).status(), kInvalid,
               "empty query vector");
  ExpectStatus(srv_->client->Search(SearchQuery::Items({}), Opts()).status(), kInvalid,
               "at least one positive");
  std::vector<int64_t> many(1001, 1);
  ExpectStatus(srv_->client->Search(SearchQuery::Items(many), Opts()).status(), kInvalid,
               "too many ids in the items query: 1001 (at most 1000)");
  SearchOptions excl = Opts();
  excl.filter.exclude_ids = many;
  ExpectStatus(srv_->client->Search(SearchQuery::Item(1), excl).status(), kInvalid,
               "too many exclude_ids");
  ExpectStatus(srv_->client->GetItems("small", many).status(), kInvalid, "too many ids: 1001");
  std::vector<SearchQuery> batch(65, SearchQuery::Item(1));
  ExpectStatus(srv_->client->BatchSearch(batch, Opts()).status(), kInvalid,
               "too many queries in one batch: 65 (at most 64)");
  ExpectStatus(srv_->client->BatchSearch({}, Opts()).status(), kInvalid, "no queries");
  ExpectStatus(srv_->client->Search(SearchQuery::Item(1), Opts("")).status(), kInvalid,
               "collection is required");
  SearchOptions genre = Opts();
  genre.filter.genres = {"Mecha"};
  ExpectStatus(srv_->client->Search(SearchQuery::Item(1), genre).status(), kInvalid,
               "unknown genre 'Mecha'");
  ExpectStatus(srv_->client->LookupTitle("small", "", std::nullopt).status(), kInvalid,
               "empty title query");
}

// What a program branches on: the reason, and the field or resource, as the client library
// reads them from the google.rpc details.
TEST_F(ServiceTest, ErrorsCarryStableReasons) {
  struct Case {
    absl::Status st;
    absl::string_view reason, field, resource_type, resource_name;
  };
  std::vector<float> nan(kD, 0.5f);
  nan[4] = std::nanf("");
  SearchOptions genre = Opts();
  genre.filter.genres = {"Mecha"};
  SearchOptions ef = Opts();
  ef.knobs.ef = 0;
  const Case cases[] = {
      {srv_->client->Search(SearchQuery::Item(1), Opts("nope")).status(),
       reason::kCollectionNotFound, "", "collection", "nope"},
      {srv_->client->Search(SearchQuery::Item(4242), Opts()).status(), reason::kItemNotInCollection,
       "", "item", "4242"},
      {srv_->client->GetItems("small", {1, 999}).status(), reason::kItemNotInCollection, "", "item",
       "999"},
      {srv_->client->Search(SearchQuery::User(7), Opts()).status(), reason::kQueryNotSupported,
       "query.user_id", "", ""},
      {srv_->client->Search(SearchQuery::Item(1), Opts("small", 0)).status(),
       reason::kTopKOutOfRange, "top_k", "", ""},
      {srv_->client->Search(SearchQuery::Vector({1, 2, 3}), Opts()).status(),
       reason::kVectorDimensionsMismatch, "query.vector.values", "", ""},
      {srv_->client->Search(SearchQuery::Vector(nan), Opts()).status(), reason::kInvalidArgument,
       "query.vector.values[4]", "", ""},
      {srv_->client->Search(SearchQuery{}, Opts()).status(), reason::kEmptyQuery, "query", "", ""},
      {srv_->client->Search(SearchQuery::Items({}), Opts()).status(), reason::kEmptyQuery,
       "query.items.positive_ids", "", ""},
      {srv_->client->BatchSearch({SearchQuery::Item(1), SearchQuery::Vector({1})}, Opts()).status(),
       reason::kVectorDimensionsMismatch, "queries[1].vector.values", "", ""},
      {srv_->client->BatchSearch({SearchQuery::Vector({1})}, Opts()).status(),
       reason::kVectorDimensionsMismatch, "queries[0].vector.values", "", ""},
      {srv_->client->BatchSearch(std::vector<SearchQuery>(65, SearchQuery::Item(1)), Opts())
           .status(),
       reason::kBatchTooLarge, "queries", "", ""},
      {srv_->client->Search(SearchQuery::Item(1), genre).status(), reason::kUnknownGenre,
       "filter.genres", "", ""},
      {srv_->client->Search(SearchQuery::Item(1), ef).status(), reason::kInvalidArgument,
       "params.ef", "", ""},
      {srv_->client->LookupTitle("small", "", std::nullopt).status(), reason::kEmptyQuery, "query",
       "", ""},
  };
  for (const Case& c : cases) {
    ASSERT_FALSE(c.st.ok());
    const ErrorDetail d = DetailOf(c.st);
    EXPECT_EQ(d.reason, c.reason) << c.st;
    EXPECT_EQ(d.field, c.field) << c.st;
    EXPECT_EQ(d.resource_type, c.resource_type) << c.st;
    EXPECT_EQ(d.resource_name, c.resource_name) << c.st;
  }
  // gRPC's own errors carry no details: their code's name.
  std::vector<float> huge(100000, 1.0f);
  EXPECT_EQ(ReasonOf(srv_->client->Search(SearchQuery::Vector(huge), Opts()).status()),
            "RESOURCE_EXHAUSTED");
}

// The google.rpc.Status on the wire, read with a bare stub (no simsearch client code).
TEST_F(ServiceTest, StatusDetailsOnTheWire) {
  auto stub = v1::SimSearch::NewStub(
      grpc::CreateChannel(srv_->address(), grpc::InsecureChannelCredentials()));
  v1::SearchRequest req;
  req.set_collection("small");
  req.mutable_query()->set_item_id(1);
  req.set_top_k(5000);
  v1::SearchResponse resp;
  grpc::ClientContext ctx;
  const grpc::Status st = stub->Search(&ctx, req, &resp);
  ASSERT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(st.error_details()));
  EXPECT_EQ(details.code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(details.message(), st.error_message());
  ASSERT_EQ(details.details_size(), 2);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(details.details(0).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "TOP_K_OUT_OF_RANGE");
  EXPECT_EQ(info.domain(), "simsearch.v1");
  EXPECT_EQ(info.metadata().at("field"), "top_k");
  google::rpc::BadRequest bad;
  ASSERT_TRUE(details.details(1).UnpackTo(&bad));
  ASSERT_EQ(bad.field_violations_size(), 1);
  EXPECT_EQ(bad.field_violations(0).field(), "top_k");
  EXPECT_THAT(bad.field_violations(0).description(), HasSubstr("between 1 and 1000, got 5000"));

  req.set_collection("nope");
  req.set_top_k(5);
  grpc::ClientContext ctx2;
  const grpc::Status missing = stub->Search(&ctx2, req, &resp);
  ASSERT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(details.ParseFromString(missing.error_details()));
  ASSERT_EQ(details.details_size(), 2);
  ASSERT_TRUE(details.details(0).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "COLLECTION_NOT_FOUND");
  EXPECT_EQ(info.metadata().at("collection"), "nope");
  google::rpc::ResourceInfo resource;
  ASSERT_TRUE(details.details(1).UnpackTo(&resource));
  EXPECT_EQ(resource.resource_type(), "collection");
  EXPECT_EQ(resource.resource_name(), "nope");
}

TEST_F(ServiceTest, OversizedMessageIsResourceExhausted) {
  // 64 KiB limit: a 100k-component vector is ~400 KB on the wire.
  std::vector<float> huge(100000, 1.0f);
  ExpectStatus(srv_->client->Search(SearchQuery::Vector(huge), Opts()).status(),
               absl::StatusCode::kResourceExhausted, "");
}

TEST_F(ServiceTest, PassedDeadlineIsDeadlineExceeded) {
  SearchOptions o = Opts("big");
  o.deadline = absl::Now() - absl::Milliseconds(1);
  ExpectStatus(srv_->client->Search(SearchQuery::Item(3), o).status(),
               absl::StatusCode::kDeadlineExceeded, "");
  // A deadline that passes while the server scans 300k vectors.
  std::vector<SearchQuery> batch(64, SearchQuery::Item(3));
  o.deadline = absl::Now() + absl::Microseconds(500);
  ExpectStatus(srv_->client->BatchSearch(batch, o).status(), absl::StatusCode::kDeadlineExceeded,
               "");
}

TEST_F(ServiceTest, FiltersThroughTheWire) {
  SearchOptions o = Opts("small", 30);
  o.filter.types = {"movie"};
  o.filter.genres = {"Comedy", "Horror"};
  o.filter.exclude_ids = {2, 3};
  auto hits = srv_->client->Search(SearchQuery::Item(1), o);
  ASSERT_TRUE(hits.ok()) << hits.status();
  ASSERT_FALSE(hits->empty());
  for (const ClientHit& h : *hits) {
    EXPECT_EQ(h.item.type, "Movie");
    EXPECT_NE(h.id, 2);
    EXPECT_NE(h.id, 3);
  }
  // Content levels travel too: the synthetic items are all general.
  SearchOptions general = Opts("small", 5);
  general.filter.max_content = ContentLevel::kGeneral;
  hits = srv_->client->Search(SearchQuery::Item(1), general);
  ASSERT_TRUE(hits.ok()) << hits.status();
  ASSERT_EQ(hits->size(), 5u);
  for (const ClientHit& h : *hits) EXPECT_EQ(h.item.content, ContentLevel::kGeneral);
  SearchOptions adult = Opts("small", 5);
  adult.filter.min_content = ContentLevel::kAdult;
  hits = srv_->client->Search(SearchQuery::Item(1), adult);
  ASSERT_TRUE(hits.ok()) << hits.status();
  EXPECT_TRUE(hits->empty()) << "no item is adult";
  // Franchises: every item says its own (11 for 11-20, its own id elsewhere), and the
  // filters keep or drop a franchise's entries.
  SearchOptions same = Opts("small", 20);
  same.filter.franchises = {11};
  hits = srv_->client->Search(SearchQuery::Item(15), same);
  ASSERT_TRUE(hits.ok()) << hits.status();
  std::set<int64_t> got;
  for (const ClientHit& h : *hits) {
    EXPECT_EQ(h.item.franchise, 11) << h.id;
    got.insert(h.id);
  }
  EXPECT_EQ(got, (std::set<int64_t>{11, 12, 13, 14, 16, 17, 18, 19, 20}));
  SearchOptions apart = Opts("small", 299);
  apart.filter.exclude_franchises = {11, 40};
  hits = srv_->client->Search(SearchQuery::Item(15), apart);
  ASSERT_TRUE(hits.ok()) << hits.status();
  EXPECT_EQ(hits->size(), 300u - 11u);  // all but 11-20 and 40
  for (const ClientHit& h : *hits) {
    EXPECT_TRUE(h.id < 11 || h.id > 20) << h.id;
    EXPECT_NE(h.id, 40);
    EXPECT_EQ(h.item.franchise, h.id);
  }
}

// A flat collection with a half-precision scan copy, through the wire: it says so (and
// its recall) in DescribeCollection, answers with the float scan's scores, and an
// `exact` search scans the float vectors.
TEST(HalfScanService, DescribedAndAnsweredWithFloatScores) {
  testing::TempDir dir;
  testing::BundleSpec spec;
  spec.collection = "halves";
  spec.dims = 32;
  spec.vectors = testing::ClusteredVectors(4000, spec.dims, 25, 0.2f, 5);
  for (int64_t i = 1; i <= 4000; ++i) spec.ids.push_back(i);
  spec.scan_precision = "f16";
  testing::BuildBundleOrDie(dir.Join("root"), dir.path(), spec);
  auto srv = testing::InProcessServer::Start(dir.Join("root"), ServerOptions());
  auto d = srv->client->DescribeCollection("halves");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_THAT(d->scan, HasSubstr("f16, the best 4 x top_k rows scored again in f32; recall@10 "));
  EXPECT_GE(d->recall_at_10, 0.99);
  EXPECT_LE(d->recall_at_10, 1.0);
  SearchOptions o;
  o.collection = "halves";
  o.top_k = 10;
  SearchOptions exact = o;
  exact.knobs.exact = true;
  size_t same = 0;
  for (int64_t id = 1; id <= 400; id += 20) {
    auto got = srv->client->Search(SearchQuery::Item(id), o);
    auto want = srv->client->Search(SearchQuery::Item(id), exact);
    ASSERT_TRUE(got.ok() && want.ok()) << got.status() << want.status();
    ASSERT_EQ(got->size(), 10u);
    for (const ClientHit& h : *got) {
      for (const ClientHit& w : *want) {
        if (w.id == h.id) {
          EXPECT_EQ(w.score, h.score) << "item " << id << " hit " << h.id;
          ++same;
        }
      }
    }
  }
  EXPECT_GE(same, 198u) << "recall@10 below 0.99 over the wire";
}

// A query's answer does not depend on the batch it came in, with a half scan too: the
// scan keeps rescore x k candidates per query, so each query of a batch must be asked
// for k with its own items left out, not for k plus the most any query of the batch
// leaves out. Rescore 1 makes the half scan miss often enough for a deeper pool to
// change answers (it did, before the batch passed its exclusions to the scan).
TEST(HalfScanService, AQueryAnswersTheSameAloneAndInABatch) {
  testing::TempDir dir;
  testing::BundleSpec spec;
  spec.collection = "halves";
  spec.dims = 32;
  spec.vectors = testing::ClusteredVectors(4000, spec.dims, 8, 0.05f, 6);  // near ties
  for (int64_t i = 1; i <= 4000; ++i) spec.ids.push_back(i);
  spec.scan_precision = "f16";
  spec.scan_rescore = 1;
  testing::BuildBundleOrDie(dir.Join("root"), dir.path(), spec);
  auto srv = testing::InProcessServer::Start(dir.Join("root"), ServerOptions());
  SearchOptions o;
  o.collection = "halves";
  o.top_k = 10;
  std::vector<int64_t> liked;
  for (int64_t id = 100; id < 160; ++id) liked.push_back(id);
  std::vector<SearchQuery> batch = {SearchQuery::Items(liked)};
  for (int64_t id = 1; id <= 300; id += 13) batch.push_back(SearchQuery::Item(id));
  auto together = srv->client->BatchSearch(batch, o);
  ASSERT_TRUE(together.ok()) << together.status();
  for (size_t i = 0; i < batch.size(); ++i) {
    auto alone = srv->client->Search(batch[i], o);
    ASSERT_TRUE(alone.ok()) << alone.status();
    ASSERT_EQ(alone->size(), (*together)[i].size()) << "query " << i;
    for (size_t j = 0; j < alone->size(); ++j) {
      EXPECT_EQ((*alone)[j].id, (*together)[i][j].id) << "query " << i << " rank " << j;
      EXPECT_EQ((*alone)[j].score, (*together)[i][j].score) << "query " << i << " rank " << j;
    }
  }
}

}  // namespace
}  // namespace simsearch
