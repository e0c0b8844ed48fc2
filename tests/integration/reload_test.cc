// Hot reload under load: 8 client threads query while new versions (and broken ones)
// are published and the server reloads; not a single call may fail.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

#include "core/file_util.h"
#include "tests/integration/server_fixture.h"
#include "tests/testing/test_util.h"

namespace simsearch {
namespace {

TEST(HotReload, EightClientsSeeNoFailedCallAcrossReloadsAndRejectedVersions) {
  testing::TempDir dir;
  auto publish = [&](uint64_t seed) {
    testing::BundleSpec spec;
    spec.collection = "live";
    spec.vectors = testing::RandomVectors(20000, 32, seed);
    spec.dims = 32;
    for (int64_t i = 1; i <= 20000; ++i) spec.ids.push_back(i);
    spec.items = testing::SyntheticItems(spec.ids);
    return testing::BuildBundleOrDie(dir.Join("root"), dir.path(), spec);
  };
  publish(1);
  auto srv = testing::InProcessServer::Start(dir.Join("root"));
  ASSERT_NE(srv, nullptr);

  std::atomic<bool> stop{false};
  std::atomic<int64_t> calls{0}, failures{0};
  std::mutex mu;
  std::set<std::string> versions_seen;
  std::string first_failure;
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&, t] {
      ClientOptions co;
      co.address = srv->address();
      auto client = Client::Create(co);
      int64_t id = 1 + t;
      while (!stop.load()) {
        SearchOptions o;
        o.collection = "live";
        o.top_k = 10;
        auto hits = client->Search(SearchQuery::Item(id), o);
        calls.fetch_add(1);
        if (!hits.ok() || hits->size() != 10) {
          failures.fetch_add(1);
          std::lock_guard<std::mutex> lock(mu);
          if (first_failure.empty())
            first_failure = hits.ok() ? "short result" : hits.status().ToString();
        }
        id = id % 20000 + 1;
      }
    });
  }
  // Versions swap while the clients run: good, corrupt, truncated, good.
  for (int round = 0; round < 4; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    const std::string v = publish(10 + round);
    if (round == 1) {
      std::string bytes = *ReadFileToString(v + "/vectors.f32");
      bytes[bytes.size() - 7] ^= 0x10;
      ASSERT_TRUE(WriteStringToFile(v + "/vectors.f32", bytes).ok());
    } else if (round == 2) {
      std::filesystem::resize_file(v + "/vectors.f32", 1000);
    }
    auto ev = srv->registry->Refresh();
    ASSERT_TRUE(ev.ok());
    ASSERT_EQ(ev->size(), 1u);
    const bool bad = round == 1 || round == 2;
    EXPECT_EQ((*ev)[0].kind, bad ? RegistryEvent::Kind::kRejected : RegistryEvent::Kind::kReplaced)
        << DescribeEvent((*ev)[0]);
    std::lock_guard<std::mutex> lock(mu);
    versions_seen.insert(srv->registry->Get("live")->version());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(failures.load(), 0) << first_failure;
  EXPECT_GT(calls.load(), 100);
  EXPECT_EQ(srv->registry->Get("live")->version(), "v000005");
  EXPECT_EQ(versions_seen, (std::set<std::string>{"v000002", "v000005"}));
  std::printf("[ reload ] %lld calls, %lld failed\n", static_cast<long long>(calls.load()),
              static_cast<long long>(failures.load()));
}

// Publishes collection "big" (ids 0..n-1, 64-d random vectors, inner product) under
// dir/root: large enough that a search takes a while.
void PublishBig(const testing::TempDir& dir, int64_t n, uint64_t seed) {
  testing::BundleSpec spec;
  spec.collection = "big";
  spec.vectors = testing::RandomVectors(static_cast<uint64_t>(n), 64, seed);
  spec.dims = 64;
  for (int64_t i = 0; i < n; ++i) spec.ids.push_back(i);
  spec.metric = Metric::kInnerProduct;
  testing::BuildBundleOrDie(dir.Join("root"), dir.path(), spec);
}

TEST(GracefulShutdown, InFlightCallsFinish) {
  testing::TempDir dir;
  PublishBig(dir, 200000, 3);
  auto srv = testing::InProcessServer::Start(dir.Join("root"));
  ASSERT_NE(srv, nullptr);
  // A batch that takes a while on 200k vectors, started before shutdown begins.
  absl::StatusOr<std::vector<std::vector<ClientHit>>> result;
  std::thread caller([&] {
    SearchOptions o;
    o.collection = "big";
    result = srv->client->BatchSearch(std::vector<SearchQuery>(64, SearchQuery::Item(5)), o);
  });
  // Shut down once the server holds the call (its answer's bytes are reserved at
  // admission), however slowly this machine or build runs.
  for (int i = 0; i < 3000 && srv->server->service().inflight_bytes() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_GT(srv->server->service().inflight_bytes(), 0) << "the call never reached the server";
  srv->server->Shutdown(absl::Seconds(30));
  srv->server->Wait();
  caller.join();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->size(), 64u);
  // After shutdown nothing is served.
  SearchOptions o;
  o.collection = "big";
  o.deadline = absl::Now() + absl::Seconds(1);
  EXPECT_FALSE(srv->client->Search(SearchQuery::Item(5), o).ok());
}

// Search is served from completion queues of ours (service.h): gRPC's Shutdown can
// return while a cancelled call's answer is still being built, and a queue shut down
// under it aborts the process. Shut down, again and again, with a grace that cuts calls
// off and with one that lets them finish, while four clients search without pause.
TEST(GracefulShutdown, SearchesUnderLoadNeverAbortTheServer) {
  testing::TempDir dir;
  PublishBig(dir, 100000, 4);
  for (int round = 0; round < 6; ++round) {
    auto srv = testing::InProcessServer::Start(dir.Join("root"));
    ASSERT_NE(srv, nullptr);
    std::atomic<bool> stop{false};
    std::atomic<int64_t> ok{0}, refused{0}, wrong{0};
    std::vector<std::thread> clients;
    for (int t = 0; t < 4; ++t) {
      clients.emplace_back([&, t] {
        SearchOptions o;
        o.collection = "big";
        o.top_k = 100;
        o.deadline = absl::Now() + absl::Seconds(20);
        for (int64_t i = t; !stop.load(); i += 4) {
          auto hits = srv->client->Search(SearchQuery::Item(i % 100000), o);
          if (hits.ok()) {
            ok.fetch_add(1);
            if (hits->size() != 100u) wrong.fetch_add(1);
          } else if (absl::IsUnavailable(hits.status()) || absl::IsCancelled(hits.status())) {
            refused.fetch_add(1);  // the server is going away: what a client may see
          } else {
            ADD_FAILURE() << hits.status();
            wrong.fetch_add(1);
          }
        }
      });
    }
    for (int i = 0; i < 5000 && ok.load() < 20; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_GE(ok.load(), 20) << "round " << round << ": the clients' calls never got through";
    // Even rounds cut the calls in progress off; odd rounds give them time to finish.
    srv->server->Shutdown(round % 2 == 0 ? absl::ZeroDuration() : absl::Seconds(10));
    srv->server->Wait();
    stop = true;
    for (std::thread& c : clients) c.join();
    EXPECT_EQ(wrong.load(), 0) << "round " << round;
    EXPECT_EQ(srv->server->service().calls_in_flight(), 0) << "round " << round;
    EXPECT_EQ(srv->server->service().inflight_bytes(), 0) << "round " << round;
  }
}

}  // namespace
}  // namespace simsearch
