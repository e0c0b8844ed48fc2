// Search calls that arrive together are answered as one batch (service.h): every
// client still gets, to the bit, the answer its search gets alone, errors stay with the
// call that caused them, and --search_batch 1 turns batching off.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/integration/server_fixture.h"
#include "tests/testing/test_util.h"

namespace simsearch {
namespace {

class BatchingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    testing::BundleSpec spec;
    spec.collection = "flat";
    spec.dims = 48;
    // Big enough that a scan takes a while, so calls pile up behind it; every tenth
    // row repeats the one before: exact ties.
    const uint64_t n = 20000;
    spec.vectors = testing::RandomVectors(n, spec.dims, 21);
    for (uint64_t r = 10; r < n; r += 10) {
      std::memcpy(&spec.vectors[r * spec.dims], &spec.vectors[(r - 1) * spec.dims],
                  spec.dims * sizeof(float));
    }
    for (uint64_t i = 0; i < n; ++i) spec.ids.push_back(static_cast<int64_t>(5 + 2 * i));
    spec.items = testing::SyntheticItems(spec.ids);
    spec.neighbours = 0;  // every item query is a scan
    testing::BuildBundleOrDie(dir_->Join("root"), dir_->path(), spec);
  }
  static void TearDownTestSuite() { delete dir_; }
  static inline testing::TempDir* dir_ = nullptr;
};

// Call c of client t: by item or by vector, with or without a filter, two top_k values,
// and now and then an item that does not exist.
struct Ask {
  SearchQuery query;
  SearchOptions options;
  bool missing = false;
};

Ask AskFor(int t, int c) {
  Ask a;
  a.options.collection = "flat";
  const int64_t row = (t * 131 + c * 17) % 20000;
  if ((t + c) % 3 == 0) {
    a.query = SearchQuery::Vector(
        testing::RandomVectors(1, 48, static_cast<uint64_t>(1000 + t * 100 + c)));
  } else {
    a.query = SearchQuery::Item(5 + 2 * row);
  }
  if (t % 2 == 1) a.options.filter.genres = {"Comedy"};
  if (c % 4 == 3) a.options.top_k = 25;
  if (t == 5 && c % 5 == 0) {
    a.query = SearchQuery::Item(4);  // ids are odd: no such item
    a.missing = true;
  }
  return a;
}

TEST_F(BatchingTest, ConcurrentSearchesGetTheirOwnAnswersToTheBit) {
  for (int search_batch : {32, 1}) {
    SCOPED_TRACE(absl::StrCat("search_batch ", search_batch));
    std::atomic<int> batched{0}, biggest{1};
    ServerOptions so;
    so.limits.pollers = 1;  // one thread reads every call: calls queue up behind a scan
    so.limits.search_batch = search_batch;
    so.hooks.on_call = [&](const CallRecord& r) {
      if (r.batch > 1) batched++;
      int b = biggest.load();
      while (r.batch > b && !biggest.compare_exchange_weak(b, r.batch)) {
      }
    };
    auto srv = testing::InProcessServer::Start(dir_->Join("root"), so);
    std::atomic<int> mismatches{0}, failures{0}, missing_ok{0}, calls{0};
    std::vector<std::thread> clients;
    for (int t = 0; t < 12; ++t) {
      clients.emplace_back([&, t] {
        for (int c = 0; c < 40; ++c) {
          const Ask a = AskFor(t, c);
          auto got = srv->client->Search(a.query, a.options);
          calls++;
          // The oracle: the same search alone, in process.
          auto want = srv->engine->Search("flat", {a.query}, a.options.top_k, a.options.filter,
                                          absl::InfiniteFuture());
          if (a.missing) {
            if (got.status().code() == absl::StatusCode::kNotFound &&
                want.status().code() == absl::StatusCode::kNotFound) {
              missing_ok++;
            } else {
              failures++;
            }
            continue;
          }
          if (!got.ok() || !want.ok()) {
            ADD_FAILURE() << "client " << t << " call " << c << ": " << got.status() << " / "
                          << want.status();
            failures++;
            continue;
          }
          const std::vector<Hit>& w = want->hits[0];
          bool same = got->size() == w.size();
          for (size_t j = 0; same && j < w.size(); ++j) {
            same = (*got)[j].id == w[j].id &&
                   std::memcmp(&(*got)[j].score, &w[j].score, sizeof(float)) == 0;
          }
          if (!same) {
            ADD_FAILURE() << "client " << t << " call " << c << " got another answer than alone";
            mismatches++;
          }
        }
      });
    }
    for (auto& t : clients) t.join();
    EXPECT_EQ(calls.load(), 12 * 40);
    EXPECT_EQ(mismatches.load(), 0);
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(missing_ok.load(), 8) << "client 5's calls for a missing item each get NOT_FOUND";
    if (search_batch > 1) {
      // 12 clients against one polling thread: calls arrive while a scan runs.
      EXPECT_GT(batched.load(), 12 * 40 / 4) << "largest batch " << biggest.load();
      std::printf("%d of %d calls answered in batches, the largest of %d\n", batched.load(),
                  calls.load(), biggest.load());
      EXPECT_LE(biggest.load(), search_batch);
    } else {
      EXPECT_EQ(batched.load(), 0);
    }
  }
}

}  // namespace
}  // namespace simsearch
