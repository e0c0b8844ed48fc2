// A client without a token sends 2,000 requests whose string field is invalid UTF-8:
// libprotobuf logs each one while parsing, before any token check. Routed through our
// log (server/library_logs.h), what reaches stderr is our JSON lines, and at most
// the budget a second plus the reports of what was suppressed (it was 2,000 raw lines).
#include "server/library_logs.h"

#include <fcntl.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "core/file_util.h"
#include "server/auth.h"
#include "tests/integration/server_fixture.h"
#include "tests/testing/test_util.h"

namespace simsearch {
namespace {

// A SearchRequest (field 1, collection) whose collection is the bytes ff fe: not UTF-8.
grpc::ByteBuffer InvalidUtf8Request() {
  static const char kBytes[] = {0x0a, 0x02, static_cast<char>(0xff), static_cast<char>(0xfe)};
  grpc::Slice slice(kBytes, sizeof(kBytes));
  return grpc::ByteBuffer(&slice, 1);
}

TEST(LibraryLogs, ProtobufLinesComeThroughOurLogWithinTheBudget) {
  testing::TempDir dir;
  testing::BundleSpec spec;
  spec.collection = "tiny";
  spec.dims = 4;
  spec.vectors = testing::RandomVectors(10, 4, 1);
  for (int64_t i = 1; i <= 10; ++i) spec.ids.push_back(i);
  testing::BuildBundleOrDie(dir.Join("root"), dir.path(), spec);
  ASSERT_TRUE(WriteStringToFile(dir.Join("tokens"), "secret-token\n").ok());
  auto tokens = TokenSet::Load(dir.Join("tokens"));
  ASSERT_TRUE(tokens.ok());
  ServerOptions so;
  so.hooks.tokens = tokens->get();
  auto srv = testing::InProcessServer::Start(dir.Join("root"), so);
  ASSERT_NE(srv, nullptr);

  // stderr into a file for the duration.
  const std::string log_path = dir.Join("stderr.log");
  const int saved = ::dup(2);
  const int file = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(file, 0);
  ::dup2(file, 2);
  ::close(file);
  ConfigureLog("simsearch-engine", LogLevel::kInfo, LogFormat::kJson);
  LogBudget budget(10, "protobuf/gRPC log");
  RouteLibraryLogs(&budget);

  auto channel = grpc::CreateChannel(srv->address(), grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  const absl::Time start = absl::Now();
  int refused = 0;
  constexpr int kCalls = 2000;
  for (int i = 0; i < kCalls; ++i) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    auto call =
        stub.PrepareUnaryCall(&ctx, "/simsearch.v1.SimSearch/Search", InvalidUtf8Request(), &cq);
    call->StartCall();
    grpc::ByteBuffer reply;
    grpc::Status status;
    call->Finish(&reply, &status, reinterpret_cast<void*>(1));
    void* tag = nullptr;
    bool ok = false;
    ASSERT_TRUE(cq.Next(&tag, &ok));
    refused += !status.ok();
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  ::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  cq.Shutdown();
  EXPECT_EQ(refused, kCalls) << "every call fails (a bad request, or no token)";

  auto text = ReadFileToString(log_path);
  ASSERT_TRUE(text.ok());
  int protobuf_lines = 0, suppressed_reports = 0, lines = 0;
  for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    ++lines;
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "not a JSON line: " << line;
    EXPECT_EQ(j.value("program", ""), "simsearch-engine") << line;
    if (j.value("source", "") == "protobuf") {
      ++protobuf_lines;
      EXPECT_THAT(j.value("msg", ""), ::testing::HasSubstr("invalid UTF-8")) << line;
    }
    if (j.value("msg", "").find("suppressed") != std::string::npos) ++suppressed_reports;
  }
  EXPECT_GE(protobuf_lines, 1) << "libprotobuf did log: " << text->substr(0, 500);
  EXPECT_LE(protobuf_lines, 10 * (static_cast<int>(seconds) + 2)) << "over " << seconds << " s";
  EXPECT_LE(lines, 12 * (static_cast<int>(seconds) + 2)) << text->substr(0, 2000);
}

}  // namespace
}  // namespace simsearch
