// simsearch-engine's flags into the server's options: defaults, units, and every bad
// value refused with its flag named, before anything listens.
#include "server/engine_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/file_util.h"
#include "tests/testing/test_util.h"

namespace simsearch {
namespace {

using ::testing::HasSubstr;

EngineFlags Defaults() {
  EngineFlags f;
  f.index_root = "/srv/index";
  return f;
}

TEST(EngineConfig, DefaultsMeanWhatTheHelpSays) {
  auto c = ConfigureEngine(Defaults());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->index_root, "/srv/index");
  EXPECT_EQ(c->collections.verify, VerifyMode::kChecksums);
  EXPECT_EQ(c->poll_interval, absl::Seconds(2));
  EXPECT_EQ(c->drain_delay, absl::Seconds(5));
  EXPECT_EQ(c->shutdown_grace, absl::Seconds(10));
  EXPECT_EQ(c->server.max_connection_age, absl::ZeroDuration());
  EXPECT_EQ(c->server.max_connection_age_grace, absl::Seconds(10));
  EXPECT_EQ(c->slow_query, absl::InfiniteDuration());
  EXPECT_EQ(c->server.listen, "127.0.0.1:50051");
  EXPECT_EQ(c->server.limits.max_response_bytes, int64_t{4} << 20);
  EXPECT_EQ(c->server.limits.max_inflight_bytes, int64_t{256} << 20);
  EXPECT_FALSE(c->server.ready_at_start) << "NOT_SERVING until the bundles are open";
  EXPECT_EQ(c->tokens, nullptr);
  EXPECT_EQ(c->server.hooks.tokens, nullptr);
  EXPECT_TRUE(c->server.tls_cert.empty());
}

TEST(EngineConfig, ValuesAreConvertedToTheirUnits) {
  EngineFlags f = Defaults();
  f.poll_interval = "0";  // off: SIGHUP only
  f.verify = "sizes";
  f.slow_query_ms = 250;
  f.max_response_mib = 16;
  f.max_inflight_mib = 1024;
  f.max_connection_age = "5m";
  f.shutdown_grace = "3s";
  f.service.search_batch = 8;
  f.service.workers = 3;
  auto c = ConfigureEngine(f);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->poll_interval, absl::InfiniteDuration());
  EXPECT_EQ(c->collections.verify, VerifyMode::kSizes);
  EXPECT_EQ(c->slow_query, absl::Milliseconds(250));
  EXPECT_EQ(c->server.limits.max_response_bytes, int64_t{16} << 20);
  EXPECT_EQ(c->server.limits.max_inflight_bytes, int64_t{1024} << 20);
  EXPECT_EQ(c->server.max_connection_age, absl::Minutes(5));
  EXPECT_EQ(c->server.max_connection_age_grace, absl::Seconds(3));
  EXPECT_EQ(c->server.limits.search_batch, 8);
  EXPECT_EQ(c->server.limits.workers, 3);
}

TEST(EngineConfig, EveryBadValueIsRefusedNamingItsFlag) {
  const std::vector<std::pair<std::function<void(EngineFlags*)>, std::string>> cases = {
      {[](EngineFlags* f) { f->poll_interval = "soon"; }, "--poll_interval: 'soon'"},
      {[](EngineFlags* f) { f->shutdown_grace = "10"; }, "--shutdown_grace: '10'"},
      {[](EngineFlags* f) { f->drain_delay = "-1s"; },
       "--drain_delay: '-1s' is not a duration >= 0"},
      {[](EngineFlags* f) { f->max_connection_age = "x"; }, "--max_connection_age"},
      {[](EngineFlags* f) { f->verify = "all"; }, "--verify must be 'checksums' or 'sizes'"},
      {[](EngineFlags* f) { f->limits.max_k = 0; }, "--max_k"},
      {[](EngineFlags* f) { f->max_message_bytes = 100; }, "--max_message_bytes >= 1024"},
      {[](EngineFlags* f) { f->service.pollers = -1; }, "--pollers must be 0-1024"},
      {[](EngineFlags* f) { f->service.search_batch = 65; }, "--search_batch must be 1-64"},
      {[](EngineFlags* f) { f->service.workers = 2000; }, "--workers must be 0-1024"},
      {[](EngineFlags* f) { f->max_response_mib = 0; }, "--max_response_mib 1-1024"},
      {[](EngineFlags* f) { f->slow_query_ms = -5; }, "--slow_query_ms must be >= 0"},
      {[](EngineFlags* f) { f->tls_cert = "cert.pem"; }, "--tls_cert and --tls_key go together"},
      {[](EngineFlags* f) { f->tls_client_ca = "ca.pem"; }, "--tls_client_ca (mutual TLS) needs"},
      {[](EngineFlags* f) { f->protect_health = true; }, "--protect_health needs"},
  };
  for (const auto& [change, expected] : cases) {
    EngineFlags f = Defaults();
    change(&f);
    auto c = ConfigureEngine(f);
    ASSERT_FALSE(c.ok()) << expected;
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << expected;
    EXPECT_THAT(c.status().message(), HasSubstr(expected));
  }
}

TEST(EngineConfig, FilesAreReadAndCheckedBeforeAnythingStarts) {
  testing::TempDir dir;
  EngineFlags f = Defaults();
  f.tls_cert = dir.Join("missing-cert.pem");
  f.tls_key = dir.Join("missing-key.pem");
  auto c = ConfigureEngine(f);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("--tls_cert"));

  f = Defaults();
  f.auth_tokens_file = dir.Join("tokens");
  c = ConfigureEngine(f);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("--auth_tokens_file: "));
  ASSERT_TRUE(WriteStringToFile(f.auth_tokens_file, "alpha-1\n").ok());
  c = ConfigureEngine(f);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_NE(c->tokens, nullptr);
  EXPECT_EQ(c->server.hooks.tokens, c->tokens.get()) << "the server checks the loaded set";
  EXPECT_TRUE(c->tokens->Allows("Bearer alpha-1"));
  // The pointer stays right when the config moves (main hands it on).
  EngineConfig moved = std::move(*c);
  EXPECT_EQ(moved.server.hooks.tokens, moved.tokens.get());
}

}  // namespace
}  // namespace simsearch
