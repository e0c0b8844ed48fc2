// The Runtime API loop against a fake Runtime API on loopback (following the published
// API: GET next, POST response/error, POST init/error), the bootstrap binary end to end
// with both backends, and the local HTTP gateway.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <condition_variable>
#include <deque>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "core/file_util.h"
#include "lambda/runtime.h"
#include "tests/integration/server_fixture.h"
#include "tests/lambda/lambda_fixture.h"
#include "tests/testing/test_util.h"

extern char** environ;

namespace simsearch::lambda {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

class FakeRuntimeApi {
 public:
  struct Post {
    std::string path;
    std::string body;
    std::string error_type;
  };

  FakeRuntimeApi() {
    server_.Get("/2018-06-01/runtime/invocation/next", [this](const httplib::Request&,
                                                              httplib::Response& res) {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(30), [this] { return !queue_.empty() || closed_; });
      ++next_calls_;
      if (queue_.empty()) {
        res.status = 500;
        res.set_content("{\"errorMessage\":\"sandbox shutting down\"}", "application/json");
        return;
      }
      Event e = queue_.front();
      queue_.pop_front();
      res.set_header("Lambda-Runtime-Aws-Request-Id", e.id);
      res.set_header("Lambda-Runtime-Deadline-Ms", std::to_string(e.deadline_ms));
      res.set_header("Lambda-Runtime-Invoked-Function-Arn",
                     "arn:aws:lambda:us-east-1:123456789012:function:simsearch");
      if (!e.trace.empty()) res.set_header("Lambda-Runtime-Trace-Id", e.trace);
      res.set_content(e.body, "application/json");
    });
    auto record = [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      posts_.push_back(
          {req.path, req.body, req.get_header_value("Lambda-Runtime-Function-Error-Type")});
      cv_.notify_all();
      res.status = 202;
      res.set_content("{\"status\":\"OK\"}", "application/json");
    };
    server_.Post(R"(/2018-06-01/runtime/invocation/[^/]+/(response|error))", record);
    server_.Post("/2018-06-01/runtime/init/error", record);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~FakeRuntimeApi() {
    Close();
    server_.stop();
    thread_.join();
  }
  std::string endpoint() const { return absl::StrCat("127.0.0.1:", port_); }

  void Enqueue(std::string id, std::string body, int64_t deadline_ms, std::string trace = "") {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back({std::move(id), std::move(body), deadline_ms, std::move(trace)});
    cv_.notify_all();
  }
  // From now on an empty queue answers /next with an error instead of waiting.
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }
  std::vector<Post> WaitPosts(size_t n, absl::Duration timeout = absl::Seconds(20)) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, absl::ToChronoSeconds(timeout), [&] { return posts_.size() >= n; });
    return posts_;
  }
  int next_calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return next_calls_;
  }

 private:
  struct Event {
    std::string id, body;
    int64_t deadline_ms;
    std::string trace;
  };
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> queue_;
  std::vector<Post> posts_;
  bool closed_ = false;
  int next_calls_ = 0;
};

int64_t InMs(absl::Duration d) {
  return absl::ToUnixMillis(absl::Now() + d);
}

std::string Event(const std::string& name) {
  return *ReadFileToString(std::string(SIMSEARCH_TEST_DATA) + "/lambda/" + name + ".json");
}

// A child process with extra environment variables; stderr goes to `log`, stdout to
// `log` + ".out".
class Child {
 public:
  Child(std::vector<std::string> args, std::vector<std::string> env, const std::string& log) {
    std::vector<std::string> envs;
    for (char** e = environ; *e != nullptr; ++e) envs.emplace_back(*e);
    for (auto& e : env) envs.push_back(std::move(e));
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : envs) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 1, (log + ".out").c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    EXPECT_EQ(posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), envp.data()), 0);
    posix_spawn_file_actions_destroy(&fa);
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  // The exit code, or -1 if it did not exit within `timeout`.
  int Wait(absl::Duration timeout) {
    const absl::Time end = absl::Now() + timeout;
    while (absl::Now() < end) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
};

json Response(const FakeRuntimeApi::Post& p) {
  return json::parse(json::parse(p.body).at("body").get<std::string>());
}
int StatusOf(const FakeRuntimeApi::Post& p) {
  return json::parse(p.body).at("statusCode").get<int>();
}

TEST(RunLoop, PostsResponsesAndErrorsWaitsForEventsAndSetsTheTraceId) {
  FakeRuntimeApi fake;
  fake.Enqueue("req-1", "{\"n\":1}", InMs(absl::Seconds(30)), "Root=1-abc");
  fake.Enqueue("req-2", "{\"n\":2}", InMs(absl::Seconds(30)));
  fake.Enqueue("req-3", "{\"n\":3}", InMs(absl::Seconds(30)));
  std::vector<std::string> traces;
  std::vector<absl::Time> deadlines;
  std::thread late([&] {
    // Arrives after the loop is already waiting in GET /next: it must not time out.
    absl::SleepFor(absl::Milliseconds(1500));
    fake.Enqueue("req-4", "{\"n\":4}", InMs(absl::Seconds(30)));
    fake.WaitPosts(4);
    fake.Close();
  });
  RuntimeApi api(fake.endpoint());
  absl::Status st = RunLoop(api, [&](const NextInvocation& inv) -> absl::StatusOr<std::string> {
    const char* trace = std::getenv("_X_AMZN_TRACE_ID");
    traces.push_back(trace != nullptr ? trace : "");
    deadlines.push_back(inv.deadline);
    if (inv.request_id == "req-2") return absl::InvalidArgumentError("handler said no");
    if (inv.request_id == "req-3") throw std::runtime_error("handler blew up");
    return absl::StrCat("{\"echo\":", inv.event, "}");
  });
  late.join();
  EXPECT_FALSE(st.ok()) << "returns only when the Runtime API fails";
  auto posts = fake.WaitPosts(4);
  ASSERT_EQ(posts.size(), 4u);
  EXPECT_EQ(posts[0].path, "/2018-06-01/runtime/invocation/req-1/response");
  EXPECT_EQ(posts[0].body, "{\"echo\":{\"n\":1}}");
  EXPECT_EQ(posts[1].path, "/2018-06-01/runtime/invocation/req-2/error");
  EXPECT_EQ(posts[1].error_type, "Runtime.HandlerError");
  EXPECT_EQ(json::parse(posts[1].body)["errorMessage"], "handler said no");
  EXPECT_EQ(posts[2].path, "/2018-06-01/runtime/invocation/req-3/error");
  EXPECT_THAT(json::parse(posts[2].body)["errorMessage"].get<std::string>(),
              HasSubstr("handler blew up"));
  EXPECT_EQ(posts[3].path, "/2018-06-01/runtime/invocation/req-4/response")
      << "the loop went on after errors";
  EXPECT_EQ(traces[0], "Root=1-abc");
  EXPECT_GT(deadlines[0], absl::Now() + absl::Seconds(20));
}

class BootstrapTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    ASSERT_TRUE(testing::BuildTinyAnimeBundle(dir_->Join("root"), dir_->path()));
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::vector<std::string> Args() { return {SIMSEARCH_LAMBDA_BINARY}; }
  static std::vector<std::string> Env(const FakeRuntimeApi& fake, const std::string& backend) {
    return {"AWS_LAMBDA_RUNTIME_API=" + fake.endpoint(), backend, "RECOMMEND_COLLECTION=tiny",
            "SEARCH_COLLECTION=tiny"};
  }
  static inline testing::TempDir* dir_ = nullptr;
};

TEST_F(BootstrapTest, EmbeddedBackendAnswersEveryInvocation) {
  FakeRuntimeApi fake;
  fake.Enqueue("health", Event("v2_health"), InMs(absl::Seconds(30)));
  fake.Enqueue("by-name", Event("v1_recommend_name"), InMs(absl::Seconds(30)));
  fake.Enqueue("junk", Event("bad_not_an_event"), InMs(absl::Seconds(30)));
  fake.Enqueue("late", Event("v2_recommend_id"), InMs(-absl::Seconds(1)));  // deadline passed
  Child boot(Args(), Env(fake, "INDEX_ROOT=" + dir_->Join("root")), dir_->Join("boot.log"));
  auto posts = fake.WaitPosts(4);
  fake.Close();
  EXPECT_EQ(boot.Wait(absl::Seconds(10)), 1) << "exits when the Runtime API goes away";
  ASSERT_EQ(posts.size(), 4u) << *ReadFileToString(dir_->Join("boot.log"));
  EXPECT_EQ(posts[0].path, "/2018-06-01/runtime/invocation/health/response");
  EXPECT_EQ(StatusOf(posts[0]), 200);
  EXPECT_FALSE(Response(posts[0]).contains("backend")) << "no index root in public answers";
  EXPECT_EQ(Response(posts[0])["status"], "ok");
  EXPECT_EQ(StatusOf(posts[1]), 200);
  EXPECT_EQ(Response(posts[1])["query"]["id"], 1);
  EXPECT_EQ(Response(posts[1])["hits"].size(), 2u);
  EXPECT_EQ(posts[2].path, "/2018-06-01/runtime/invocation/junk/response")
      << "a bad event is a 400, not a crash";
  EXPECT_EQ(StatusOf(posts[2]), 400);
  EXPECT_EQ(StatusOf(posts[3]), 504);

  // One CloudWatch Embedded Metric Format line per invocation on stdout.
  auto out = ReadFileToString(dir_->Join("boot.log.out"));
  ASSERT_TRUE(out.ok());
  std::vector<nlohmann::json> lines;
  for (absl::string_view line : absl::StrSplit(*out, '\n', absl::SkipEmpty())) {
    lines.push_back(nlohmann::json::parse(line));
  }
  ASSERT_EQ(lines.size(), 4u) << *out;
  const std::vector<std::pair<std::string, std::string>> want = {
      {"health", "200"}, {"by-name", "200"}, {"junk", "400"}, {"late", "504"}};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(lines[i]["request_id"], want[i].first);
    EXPECT_EQ(lines[i]["Status"], want[i].second);
    EXPECT_TRUE(lines[i]["Latency"].is_number());
    EXPECT_EQ(lines[i]["_aws"]["CloudWatchMetrics"][0]["Namespace"], "simsearch");
  }
  EXPECT_EQ(lines[0]["Route"], "/health");
  EXPECT_EQ(lines[1]["Route"], "/recommend");
  EXPECT_EQ(lines[1]["collection_version"], "v000001");
}

TEST_F(BootstrapTest, StartupFailureIsPostedAsInitError) {
  FakeRuntimeApi fake;
  Child boot(Args(), Env(fake, "INDEX_ROOT=" + dir_->Join("no-such-root")), dir_->Join("init.log"));
  auto posts = fake.WaitPosts(1);
  EXPECT_EQ(boot.Wait(absl::Seconds(10)), 1);
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].path, "/2018-06-01/runtime/init/error");
  EXPECT_EQ(posts[0].error_type, "Runtime.InitError");
  EXPECT_THAT(json::parse(posts[0].body)["errorMessage"].get<std::string>(),
              HasSubstr("no-such-root"));
  EXPECT_EQ(fake.next_calls(), 0) << "no invocation is taken after a failed init";
}

TEST_F(BootstrapTest, RemoteBackendThroughARealEngine) {
  auto srv = testing::InProcessServer::Start(dir_->Join("root"));
  ASSERT_NE(srv, nullptr);
  FakeRuntimeApi fake;
  fake.Enqueue("remote-1", Event("v2_recommend_id"), InMs(absl::Seconds(30)));
  fake.Enqueue("remote-2", Event("v1_search"), InMs(absl::Seconds(30)));
  Child boot(Args(), Env(fake, "ENGINE_ADDR=" + srv->address()), dir_->Join("remote.log"));
  auto posts = fake.WaitPosts(2);
  ASSERT_EQ(posts.size(), 2u) << *ReadFileToString(dir_->Join("remote.log"));
  EXPECT_EQ(StatusOf(posts[0]), 200);
  EXPECT_EQ(Response(posts[0])["hits"].size(), 2u);
  EXPECT_EQ(StatusOf(posts[1]), 200);
  // The engine goes away: the next invocation is a 502, and the function keeps going.
  srv->server->Shutdown(absl::ZeroDuration());
  srv->server->Wait();
  fake.Enqueue("remote-3", Event("v2_recommend_id"), InMs(absl::Seconds(5)));
  posts = fake.WaitPosts(3);
  fake.Close();
  ASSERT_EQ(posts.size(), 3u);
  const int status = StatusOf(posts[2]);
  EXPECT_TRUE(status == 502 || status == 504) << status;
  boot.Wait(absl::Seconds(10));
}

TEST_F(BootstrapTest, LocalHttpGatewayServesTheHandler) {
  Child gw({SIMSEARCH_LAMBDA_BINARY, "--serve-http", "127.0.0.1:0", "--index_root",
            dir_->Join("root"), "--recommend-collection", "tiny", "--search-collection", "tiny"},
           {}, dir_->Join("gw.log"));
  int port = 0;
  for (int i = 0; i < 200 && port == 0; ++i) {
    absl::SleepFor(absl::Milliseconds(25));
    auto log = ReadFileToString(dir_->Join("gw.log"));
    if (log.ok()) {
      auto at = log->find("http://127.0.0.1:");
      if (at != std::string::npos) port = std::atoi(log->c_str() + at + 17);
    }
  }
  ASSERT_GT(port, 0) << *ReadFileToString(dir_->Join("gw.log"));
  httplib::Client c("127.0.0.1", port);
  auto health = c.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->get_header_value("Access-Control-Allow-Origin"), "*");
  auto rec = c.Post("/recommend", R"({"name": "cowboy bebop", "n": 2})", "application/json");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->status, 200) << rec->body;
  EXPECT_EQ(json::parse(rec->body)["hits"].size(), 2u);
  auto search = c.Get("/search?q=bounty%20hunters%20in%20space&k=3");
  ASSERT_TRUE(search);
  EXPECT_EQ(search->status, 200) << search->body;
  EXPECT_EQ(json::parse(search->body)["query"]["q"], "bounty hunters in space");
  auto item = c.Get("/items/6");
  ASSERT_TRUE(item);
  EXPECT_EQ(json::parse(item->body)["title"], "Trigun");
  auto bad = c.Post("/recommend", "{oops", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  auto missing = c.Get("/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  auto pre = c.Options("/recommend");
  ASSERT_TRUE(pre);
  EXPECT_EQ(pre->status, 204);
  EXPECT_THAT(pre->get_header_value("Access-Control-Allow-Methods"), HasSubstr("POST"));
}

}  // namespace
}  // namespace simsearch::lambda
