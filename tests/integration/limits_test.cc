// What one client can make the engine hold: bounded threads and queued calls, answers
// capped below what standard clients accept, and an exclusive port
// (docs/RELIABILITY.md).
#include <dirent.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "core/errors.h"
#include "tests/integration/server_fixture.h"
#include "tests/testing/test_util.h"

namespace simsearch {
namespace {

using ::testing::HasSubstr;

int ThreadsOfThisProcess() {
  int n = 0;
  DIR* d = ::opendir("/proc/self/task");
  while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
  ::closedir(d);
  return n;
}

class LimitsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    testing::BundleSpec big;
    big.collection = "big";
    big.dims = 32;
    big.vectors = testing::RandomVectors(100000, big.dims, 2);
    for (int64_t i = 0; i < 100000; ++i) big.ids.push_back(i);
    big.items = testing::SyntheticItems(big.ids);
    testing::BuildBundleOrDie(dir_->Join("root"), dir_->path(), big);
  }
  static void TearDownTestSuite() { delete dir_; }
  static inline testing::TempDir* dir_ = nullptr;
};

// 300 batch calls from 30 client threads against 2 workers and a queue of 4: the
// excess is refused at once with RESOURCE_EXHAUSTED, the rest answered, and the
// server's thread count does not follow the number of calls (the synchronous server
// made a thread per call: 559 threads for 1000 calls). Small calls may also run on
// gRPC's own threads (no hand-off), which bounds them the same way: see the next test.
TEST_F(LimitsTest, ABurstIsQueuedOrRefusedWithoutAThreadPerCall) {
  ServerOptions so;
  so.limits.workers = 2;
  so.limits.max_queued = 4;
  auto srv = testing::InProcessServer::Start(dir_->Join("root"), so);
  (void)srv->client->ListCollections();  // connect first: the channel's threads are not the burst's
  const int before = ThreadsOfThisProcess();
  std::vector<SearchQuery> batch;
  for (int i = 0; i < 16; ++i) batch.push_back(SearchQuery::Item(i * 7));
  SearchOptions o;
  o.collection = "big";
  o.top_k = 200;  // answers estimated above 256 KiB: built on the worker threads only
  std::map<absl::StatusCode, int> codes;
  std::string busy_message;
  absl::Mutex mu;
  std::atomic<int> peak{0};
  std::atomic<bool> sampling{true};
  std::thread sampler([&] {
    while (sampling) {
      peak = std::max(peak.load(), ThreadsOfThisProcess());
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  // Client threads are ours too: 30 threads x 10 calls each, issued as fast as they
  // return, with the server's threads counted apart from them below.
  std::vector<std::thread> clients;
  for (int t = 0; t < 30; ++t) {
    clients.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        auto r = srv->client->BatchSearch(batch, o);
        absl::MutexLock lock(&mu);
        codes[r.status().code()]++;
        if (r.status().code() == absl::StatusCode::kResourceExhausted)
          busy_message = std::string(r.status().message());
      }
    });
  }
  for (auto& t : clients) t.join();
  sampling = false;
  sampler.join();
  EXPECT_EQ(codes[absl::StatusCode::kOk] + codes[absl::StatusCode::kResourceExhausted], 300)
      << "every call is answered or refused, nothing else";
  EXPECT_GT(codes[absl::StatusCode::kOk], 0);
  EXPECT_GT(codes[absl::StatusCode::kResourceExhausted], 0)
      << "30 callers cannot fit 2 workers + 4 queued";
  EXPECT_THAT(busy_message, HasSubstr("retry with backoff"));
  // 30 client threads + the sampler are expected; the server may add a few of its own,
  // never one per call.
  EXPECT_LT(peak.load() - before, 31 + 20) << "before " << before << ", peak " << peak.load();
  auto after = srv->client->Search(SearchQuery::Item(3), o);
  EXPECT_TRUE(after.ok()) << after.status();
}

TEST_F(LimitsTest, SmallCallsFromManyClientsAreAllAnsweredWithBoundedThreads) {
  ServerOptions so;
  so.limits.workers = 2;
  so.limits.max_queued = 4;
  auto srv = testing::InProcessServer::Start(dir_->Join("root"), so);
  (void)srv->client->ListCollections();
  const int before = ThreadsOfThisProcess();
  SearchOptions o;
  o.collection = "big";
  std::atomic<int> ok{0}, exhausted{0}, other{0}, peak{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 30; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        auto r = srv->client->Search(SearchQuery::Item(t * 100 + i), o);
        (r.ok()                                                      ? ok
         : r.status().code() == absl::StatusCode::kResourceExhausted ? exhausted
                                                                     : other)++;
        peak = std::max(peak.load(), ThreadsOfThisProcess());
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok + exhausted, 300);
  EXPECT_EQ(other.load(), 0);
  EXPECT_GT(ok.load(), 0);
  EXPECT_LT(peak.load() - before, 30 + 20) << "before " << before << ", peak " << peak.load();
}

TEST_F(LimitsTest, AnAnswerLargerThanTheCapSaysWhatToLower) {
  ServerOptions so;
  so.limits.max_response_bytes = 16 << 10;
  auto srv = testing::InProcessServer::Start(dir_->Join("root"), so);
  SearchOptions o;
  o.collection = "big";
  o.top_k = 1000;  // legal, but 1000 hits with titles and genres are ~60 KB
  auto r = srv->client->Search(SearchQuery::Item(1), o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(r.status().message(), HasSubstr("lower top_k or split the batch"));
  o.top_k = 100;
  auto fewer = srv->client->Search(SearchQuery::Item(1), o);
  EXPECT_TRUE(fewer.ok()) << fewer.status();
}

TEST_F(LimitsTest, EchoedInputIsCutSoTheRealErrorArrives) {
  auto srv = testing::InProcessServer::Start(dir_->Join("root"));
  SearchOptions o;
  o.collection = std::string(20000, 'x');  // past the 8 KiB clients accept in headers
  auto r = srv->client->Search(SearchQuery::Item(1), o);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("unknown collection"));
  EXPECT_LT(r.status().message().size(), 600u);
  // The details arrive too, their echo of the name cut as well.
  EXPECT_EQ(DetailOf(r.status()).reason, "COLLECTION_NOT_FOUND");
  EXPECT_EQ(DetailOf(r.status()).resource_type, "collection");
  EXPECT_LT(DetailOf(r.status()).resource_name.size(), 200u);
  o.collection = "big";
  o.filter.genres = {std::string(20000, 'g')};
  r = srv->client->Search(SearchQuery::Item(1), o);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("unknown genre"));
}

TEST_F(LimitsTest, ASecondServerOnABusyPortFailsToStart) {
  auto first = testing::InProcessServer::Start(dir_->Join("root"));
  testing::TempDir empty;
  CollectionRegistry registry(empty.path(), {});
  Engine engine(&registry, {});
  ServerOptions so;
  so.listen = first->address();
  auto second = SearchServer::Start(&engine, so);
  ASSERT_FALSE(second.ok()) << "a second server on " << so.listen << " started";
  EXPECT_THAT(second.status().message(), HasSubstr("address already in use"));
  // The first still owns every connection.
  for (int i = 0; i < 10; ++i) {
    ClientOptions options;
    options.address = first->address();
    auto c = Client::Create(options);
    EXPECT_TRUE(c->ListCollections().ok());
  }
}

}  // namespace
}  // namespace simsearch
