// Health that means ready, on the real simsearch-engine process: NOT_SERVING with
// nothing to serve, one status per collection, and on SIGTERM a client watching health
// sees NOT_SERVING before any call fails (the drain delay keeps answering meanwhile).
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/client.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/testing/test_util.h"

extern char** environ;

namespace simsearch {
namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// simsearch-engine over `root` with `flags`; stops it (SIGKILL) if still running.
class EngineProcess {
 public:
  EngineProcess(const std::string& root, const std::string& log, std::vector<std::string> flags)
      : log_(log) {
    std::vector<std::string> args = {std::string(SIMSEARCH_BINARY_DIR) + "/server/simsearch-engine",
                                     "--index_root", root, "--listen", "127.0.0.1:0"};
    args.insert(args.end(), flags.begin(), flags.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    EXPECT_EQ(posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&fa);
  }
  ~EngineProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  // The port, once the log has `line_re` (group 1: the port); 0 after 20 s.
  int WaitForLog(const std::string& line_re) {
    const std::regex re(line_re);
    for (int i = 0; i < 200; ++i) {
      std::smatch m;
      const std::string text = Log();
      if (std::regex_search(text, m, re)) return std::stoi(m[1]);
      absl::SleepFor(absl::Milliseconds(100));
    }
    ADD_FAILURE() << "engine log never matched " << line_re << ":\n" << Log();
    return 0;
  }
  std::string Log() const {
    std::ifstream in(log_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  void Signal(int sig) { ::kill(pid_, sig); }
  int Wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  std::string log_;
  pid_t pid_ = -1;
};

HealthCheckResponse::ServingStatus Check(grpc::health::v1::Health::Stub* stub,
                                         const std::string& service,
                                         grpc::StatusCode* code = nullptr) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  HealthCheckRequest req;
  req.set_service(service);
  HealthCheckResponse resp;
  grpc::Status st = stub->Check(&ctx, req, &resp);
  if (code != nullptr) *code = st.error_code();
  return st.ok() ? resp.status() : HealthCheckResponse::UNKNOWN;
}

// Publishes collection "tiny" (ids 1..n, 4-d random vectors) under dir/root.
void BuildTiny(const testing::TempDir& dir, int64_t n, uint32_t seed) {
  testing::BundleSpec spec;
  spec.collection = "tiny";
  spec.dims = 4;
  spec.vectors = testing::RandomVectors(static_cast<size_t>(n), 4, seed);
  for (int64_t i = 1; i <= n; ++i) spec.ids.push_back(i);
  testing::BuildBundleOrDie(dir.Join("root"), dir.path(), spec);
}

TEST(EngineHealth, NothingToServeIsNotServingUntilACollectionIsPublished) {
  testing::TempDir dir;
  ASSERT_EQ(::mkdir(dir.Join("root").c_str(), 0755), 0);
  EngineProcess engine(dir.Join("root"), dir.Join("engine.log"),
                       {"--poll_interval", "100ms", "--drain_delay", "0"});
  const int port = engine.WaitForLog("serving 0 collection\\(s\\) from .* on port ([0-9]+)");
  ASSERT_GT(port, 0);
  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  auto stub = grpc::health::v1::Health::NewStub(channel);
  EXPECT_EQ(Check(stub.get(), ""), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Check(stub.get(), "simsearch.v1.SimSearch"), HealthCheckResponse::NOT_SERVING);
  // A collection appears: the server and it become SERVING; other names are unknown.
  BuildTiny(dir, 20, 1);
  for (int i = 0; i < 100 && Check(stub.get(), "") != HealthCheckResponse::SERVING; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(Check(stub.get(), ""), HealthCheckResponse::SERVING);
  EXPECT_EQ(Check(stub.get(), "simsearch.v1.SimSearch"), HealthCheckResponse::SERVING);
  EXPECT_EQ(Check(stub.get(), "simsearch.v1.SimSearch/tiny"), HealthCheckResponse::SERVING);
  grpc::StatusCode code;
  Check(stub.get(), "simsearch.v1.SimSearch/other", &code);
  EXPECT_EQ(code, grpc::StatusCode::NOT_FOUND);
  // The collection is removed: it, and the server (nothing left), go NOT_SERVING.
  std::filesystem::remove_all(dir.Join("root/tiny"));
  for (int i = 0; i < 100 && Check(stub.get(), "") != HealthCheckResponse::NOT_SERVING; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(Check(stub.get(), ""), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Check(stub.get(), "simsearch.v1.SimSearch/tiny"), HealthCheckResponse::NOT_SERVING);
}

TEST(EngineHealth, OnSigtermAWatcherSeesNotServingBeforeAnyCallFails) {
  testing::TempDir dir;
  BuildTiny(dir, 50, 2);
  EngineProcess engine(dir.Join("root"), dir.Join("engine.log"),
                       {"--drain_delay", "1s", "--poll_interval", "0", "--shutdown_grace", "2s"});
  const int port = engine.WaitForLog("serving 1 collection\\(s\\) from .* on port ([0-9]+)");
  ASSERT_GT(port, 0);
  const std::string address = absl::StrCat("127.0.0.1:", port);

  // The watcher: a grpc.health.v1 Watch stream on the whole server.
  std::mutex mu;
  std::vector<std::pair<absl::Time, HealthCheckResponse::ServingStatus>> seen;
  std::thread watcher([&] {
    auto stub = grpc::health::v1::Health::NewStub(
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    HealthCheckRequest req;
    auto reader = stub->Watch(&ctx, req);
    HealthCheckResponse resp;
    while (reader->Read(&resp)) {
      std::lock_guard<std::mutex> lock(mu);
      seen.emplace_back(absl::Now(), resp.status());
    }
    reader->Finish();
  });
  // The caller: searches back to back until one fails.
  std::atomic<int> answered_after_not_serving{0};
  absl::Time first_failure = absl::InfiniteFuture();
  std::thread caller([&] {
    ClientOptions co;
    co.address = address;
    auto client = Client::Create(co);
    SearchOptions so;
    so.collection = "tiny";
    so.top_k = 5;
    for (int i = 0; i < 100000; ++i) {
      so.deadline = absl::Now() + absl::Seconds(2);
      auto r = client->Search(SearchQuery::Item(1 + i % 50), so);
      if (!r.ok()) {
        first_failure = absl::Now();
        return;
      }
      std::lock_guard<std::mutex> lock(mu);
      if (!seen.empty() && seen.back().second == HealthCheckResponse::NOT_SERVING)
        ++answered_after_not_serving;
    }
  });
  for (int i = 0; i < 100; ++i) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!seen.empty() && seen.back().second == HealthCheckResponse::SERVING) break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  absl::SleepFor(absl::Milliseconds(200));
  engine.Signal(SIGTERM);
  caller.join();
  watcher.join();
  EXPECT_EQ(engine.Wait(), 0);

  absl::Time not_serving = absl::InfiniteFuture();
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.front().second, HealthCheckResponse::SERVING);
  for (const auto& [t, s] : seen) {
    if (s == HealthCheckResponse::NOT_SERVING) {
      not_serving = t;
      break;
    }
  }
  ASSERT_NE(not_serving, absl::InfiniteFuture()) << "the watcher never saw NOT_SERVING";
  ASSERT_NE(first_failure, absl::InfiniteFuture()) << "calls never failed: the engine did not stop";
  EXPECT_LT(not_serving, first_failure);
  EXPECT_GE(first_failure - not_serving, absl::Milliseconds(800))
      << "the drain delay (1 s) kept answering";
  EXPECT_GT(answered_after_not_serving.load(), 0) << "calls were answered while NOT_SERVING";
  EXPECT_THAT(engine.Log(),
              ::testing::HasSubstr("SIGTERM: health NOT_SERVING; answering for 1s more"));
}

// The engine serves grpc.health.v1 itself (server/health.h): a Watch on a name
// never set says SERVICE_UNKNOWN, follows the collection once it appears, and the stream
// ends with OK when the engine shuts down, instead of holding the shutdown for its grace
// (30 s here) as gRPC 1.51's built-in service did.
TEST(EngineHealth, WatchFollowsACollectionAndEndsAtShutdown) {
  testing::TempDir dir;
  ASSERT_EQ(::mkdir(dir.Join("root").c_str(), 0755), 0);
  EngineProcess engine(
      dir.Join("root"), dir.Join("engine.log"),
      {"--poll_interval", "100ms", "--drain_delay", "0", "--shutdown_grace", "30s"});
  const int port = engine.WaitForLog("serving 0 collection\\(s\\) from .* on port ([0-9]+)");
  ASSERT_GT(port, 0);
  const std::string address = absl::StrCat("127.0.0.1:", port);
  std::mutex mu;
  std::vector<HealthCheckResponse::ServingStatus> seen;
  grpc::Status end;
  absl::Time ended = absl::InfiniteFuture();
  std::thread watcher([&] {
    auto stub = grpc::health::v1::Health::NewStub(
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    HealthCheckRequest req;
    req.set_service("simsearch.v1.SimSearch/tiny");
    auto reader = stub->Watch(&ctx, req);
    HealthCheckResponse resp;
    while (reader->Read(&resp)) {
      std::lock_guard<std::mutex> lock(mu);
      seen.push_back(resp.status());
    }
    end = reader->Finish();
    ended = absl::Now();
  });
  auto last = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return seen.empty() ? HealthCheckResponse::UNKNOWN : seen.back();
  };
  for (int i = 0; i < 200 && last() != HealthCheckResponse::SERVICE_UNKNOWN; ++i)
    absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(last(), HealthCheckResponse::SERVICE_UNKNOWN);
  BuildTiny(dir, 20, 3);
  for (int i = 0; i < 200 && last() != HealthCheckResponse::SERVING; ++i)
    absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(last(), HealthCheckResponse::SERVING);
  const absl::Time term = absl::Now();
  engine.Signal(SIGTERM);
  watcher.join();
  EXPECT_EQ(engine.Wait(), 0);
  EXPECT_TRUE(end.ok()) << end.error_code() << " " << end.error_message();
  EXPECT_LT(ended - term, absl::Seconds(20)) << "the Watch stream held the shutdown for its grace";
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_THAT(
      seen, ::testing::ElementsAre(HealthCheckResponse::SERVICE_UNKNOWN,
                                   HealthCheckResponse::SERVING, HealthCheckResponse::NOT_SERVING));
}

}  // namespace
}  // namespace simsearch
