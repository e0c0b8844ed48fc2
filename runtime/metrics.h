// A small Prometheus metrics registry with the text exposition format (version 0.0.4).
//
// Why our own and not prometheus-cpp: the engine needs counters and histograms on the
// serving path (one relaxed atomic add each, no allocation once a label set exists)
// and gauges read from the live collections at scrape time; that is ~250 lines here,
// keeps core free of civetweb and prometheus-cpp's dependency chain, and the format
// is checked by a real Prometheus server in tests/integration/prometheus_test.
//
//   MetricsRegistry reg;
//   auto* calls = reg.AddCounter("simsearch_requests_total", "Calls answered.", {"rpc", "code"});
//   calls->With({"Search", "OK"})->Add();
//   std::string text = reg.Expose();
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>
#include "absl/strings/string_view.h"

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace simsearch {

class Counter {
 public:
  void Add(double v = 1) { value_.fetch_add(v, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double v) { value_.fetch_add(v, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  // `bounds`: the buckets' upper bounds, increasing; +Inf is implied.
  explicit Histogram(const std::vector<double>* bounds);
  void Observe(double v);
  // Cumulative counts per bound, then the +Inf count; and the sum.
  std::vector<uint64_t> CumulativeCounts() const;
  double Sum() const { return sum_.load(std::memory_order_relaxed); }
  double Bound(size_t i) const { return (*bounds_)[i]; }

 private:
  const std::vector<double>* bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // per bucket, not cumulative
  std::atomic<double> sum_{0};
};

// Buckets for latencies in seconds: 50 us to 1 s, about three per decade.
const std::vector<double>& LatencyBucketsSeconds();

// A metric name with label names; each set of label values is one series, created on
// first use and kept for the registry's life (so label values must be few: callers map
// unbounded inputs, such as a requested collection name, to a fixed set).
template <typename T>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> labels,
         const std::vector<double>* bounds = nullptr)
      : name_(std::move(name)),
        help_(std::move(help)),
        labels_(std::move(labels)),
        bounds_(bounds) {}
  // The series for these label values (as many as label names).
  T* With(const std::vector<absl::string_view>& values);

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& labels() const { return labels_; }
  // Every series with its label values, in creation order.
  std::vector<std::pair<std::vector<std::string>, const T*>> Series() const;

 private:
  const std::string name_, help_;
  const std::vector<std::string> labels_;
  const std::vector<double>* bounds_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, size_t> index_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<std::vector<std::string>, std::unique_ptr<T>>> series_ ABSL_GUARDED_BY(mu_);
};

// Writes gauge samples during a scrape (for values read from live state).
class GaugeWriter {
 public:
  explicit GaugeWriter(std::string* out) : out_(out) {}
  // Starts a family: its HELP and TYPE lines. `type`: "gauge" or "counter".
  void Begin(absl::string_view name, absl::string_view help, absl::string_view type = "gauge");
  // One sample of the family begun last.
  void Sample(absl::string_view name,
              const std::vector<std::pair<absl::string_view, absl::string_view>>& labels,
              double value);

 private:
  std::string* out_;
};

class MetricsRegistry {
 public:
  Family<Counter>* AddCounter(std::string name, std::string help,
                              std::vector<std::string> labels = {});
  Family<Gauge>* AddGauge(std::string name, std::string help, std::vector<std::string> labels = {});
  Family<Histogram>* AddHistogram(std::string name, std::string help,
                                  std::vector<std::string> labels,
                                  const std::vector<double>* bounds = &LatencyBucketsSeconds());
  // Called on every scrape, after the families above, to write gauges of live state.
  void AddCollector(std::function<void(GaugeWriter*)> collect);

  // Everything in the Prometheus text format.
  std::string Expose() const;

 private:
  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Family<Counter>>> counters_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Family<Gauge>>> gauges_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Family<Histogram>>> histograms_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void(GaugeWriter*)>> collectors_ ABSL_GUARDED_BY(mu_);
};

// A sample value as the text format writes it (+Inf, -Inf, NaN, shortest round trip).
std::string FormatMetricValue(double v);
// A label value with \, " and newline escaped.
std::string EscapeLabelValue(absl::string_view v);

}  // namespace simsearch
