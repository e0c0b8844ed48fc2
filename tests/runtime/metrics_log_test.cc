// runtime/metrics (Prometheus text format) and runtime/log (text and JSON lines), checked
// against hand-written expected text and a JSON parser.
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "runtime/log.h"
#include "runtime/metrics.h"

namespace simsearch {
namespace {

using ::testing::HasSubstr;

TEST(MetricsTest, CountersAndLabelsInTheTextFormat) {
  MetricsRegistry reg;
  auto* calls = reg.AddCounter("calls_total", "Calls.\nSecond line", {"rpc", "code"});
  calls->With({"Search", "OK"})->Add();
  calls->With({"Search", "OK"})->Add(2);
  calls->With({"Get", "NOT_FOUND"})->Add();
  calls->With({"we\"ird\\", "a\nb"})->Add();
  EXPECT_EQ(reg.Expose(),
            "# HELP calls_total Calls.\\nSecond line\n"
            "# TYPE calls_total counter\n"
            "calls_total{rpc=\"Search\",code=\"OK\"} 3\n"
            "calls_total{rpc=\"Get\",code=\"NOT_FOUND\"} 1\n"
            "calls_total{rpc=\"we\\\"ird\\\\\",code=\"a\\nb\"} 1\n");
}

TEST(MetricsTest, HistogramBucketsAreCumulativeAndInclusive) {
  static const std::vector<double> bounds = {0.001, 0.01, 0.1};
  MetricsRegistry reg;
  auto* h = reg.AddHistogram("lat_seconds", "Latency.", {"rpc"}, &bounds)->With({"Search"});
  // 0.001 falls in the first bucket (le is "less than or equal"), 0.5 only in +Inf.
  for (double v : {0.0005, 0.001, 0.002, 0.05, 0.05, 0.5}) h->Observe(v);
  const std::string text = reg.Expose();
  EXPECT_THAT(text, HasSubstr("lat_seconds_bucket{rpc=\"Search\",le=\"0.001\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("lat_seconds_bucket{rpc=\"Search\",le=\"0.01\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("lat_seconds_bucket{rpc=\"Search\",le=\"0.1\"} 5\n"));
  EXPECT_THAT(text, HasSubstr("lat_seconds_bucket{rpc=\"Search\",le=\"+Inf\"} 6\n"));
  EXPECT_THAT(text, HasSubstr("lat_seconds_count{rpc=\"Search\"} 6\n"));
  EXPECT_THAT(text, HasSubstr("lat_seconds_sum{rpc=\"Search\"} 0.6035\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE lat_seconds histogram\n"));
}

TEST(MetricsTest, LatencyBucketsResolveFiftyMicrosecondsToOneSecond) {
  const auto& b = LatencyBucketsSeconds();
  ASSERT_FALSE(b.empty());
  EXPECT_DOUBLE_EQ(b.front(), 50e-6);
  EXPECT_DOUBLE_EQ(b.back(), 1.0);
  EXPECT_TRUE(std::is_sorted(b.begin(), b.end()));
}

TEST(MetricsTest, ConcurrentAddsAreAllCounted) {
  MetricsRegistry reg;
  auto* family = reg.AddCounter("c_total", "C.", {"t"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([family, t] {
      for (int i = 0; i < 10000; ++i) family->With({t % 2 ? "odd" : "even"})->Add();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(family->With({"odd"})->Value(), 20000);
  EXPECT_EQ(family->With({"even"})->Value(), 20000);
}

TEST(MetricsTest, CollectorsWriteGaugesAfterTheFamilies) {
  MetricsRegistry reg;
  reg.AddGauge("g", "G.")->With({})->Set(2.5);
  reg.AddCollector([](GaugeWriter* w) {
    w->Begin("items", "Items.");
    w->Sample("items", {{"collection", "ncf"}}, 7390);
  });
  EXPECT_EQ(reg.Expose(),
            "# HELP g G.\n# TYPE g gauge\ng 2.5\n"
            "# HELP items Items.\n# TYPE items gauge\nitems{collection=\"ncf\"} 7390\n");
  EXPECT_EQ(FormatMetricValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatMetricValue(0.1), "0.1");
}

TEST(LogTest, TextLineQuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(
      FormatLogLine(LogFormat::kText, "2026-11-28T00:00:00.000Z", LogLevel::kWarning,
                    "simsearch-engine", "call failed\nsecond line",
                    {{"rpc", "Search"}, {"ms", 1.5}, {"message", "a \"b\" c"}, {"empty", ""}}),
      "2026-11-28T00:00:00.000Z WARN simsearch-engine: call failed second line rpc=Search ms=1.5 "
      "message=\"a \\\"b\\\" c\" empty=\"\"");
}

TEST(LogTest, JsonLineParsesWithNumbersAsNumbers) {
  const std::string line = FormatLogLine(
      LogFormat::kJson, "2026-11-28T00:00:00.000Z", LogLevel::kError, "prog", "bad \"thing\"\n\x01",
      {{"code", "INTERNAL"}, {"ms", 2.25}, {"n", int64_t{7}}, {"nan", std::nan("")}});
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["level"], "error");
  EXPECT_EQ(j["program"], "prog");
  EXPECT_EQ(j["msg"], "bad \"thing\"\n\x01");
  EXPECT_EQ(j["code"], "INTERNAL");
  EXPECT_DOUBLE_EQ(j["ms"].get<double>(), 2.25);
  EXPECT_EQ(j["n"].get<int>(), 7);
  EXPECT_EQ(j["nan"], "NaN");  // not a number JSON can hold: a string
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(LogTest, LevelsAndFormatsParse) {
  LogLevel l;
  LogFormat f;
  EXPECT_TRUE(ParseLogLevel("WARN", &l).ok());
  EXPECT_EQ(l, LogLevel::kWarning);
  EXPECT_FALSE(ParseLogLevel("loud", &l).ok());
  EXPECT_THAT(std::string(ParseLogLevel("loud", &l).message()),
              HasSubstr("debug, info, warning or error"));
  EXPECT_TRUE(ParseLogFormat("json", &f).ok());
  EXPECT_FALSE(ParseLogFormat("xml", &f).ok());
}

}  // namespace
}  // namespace simsearch
