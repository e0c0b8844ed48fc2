#include "runtime/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace simsearch {

Histogram::Histogram(const std::vector<double>* bounds)
    : bounds_(bounds), counts_(new std::atomic<uint64_t>[bounds->size() + 1]) {
  for (size_t i = 0; i <= bounds_->size(); ++i) counts_[i].store(0);
}

void Histogram::Observe(double v) {
  // The first bucket whose bound is >= v (Prometheus buckets are "less or equal").
  const size_t b =
      static_cast<size_t>(std::lower_bound(bounds_->begin(), bounds_->end(), v) - bounds_->begin());
  counts_[b].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::CumulativeCounts() const {
  std::vector<uint64_t> out(bounds_->size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_->size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    out[i] = total;
  }
  return out;
}

const std::vector<double>& LatencyBucketsSeconds() {
  static const std::vector<double>* b =
      new std::vector<double>{50e-6, 100e-6, 250e-6, 500e-6, 1e-3,   2.5e-3, 5e-3,
                              10e-3, 25e-3,  50e-3,  100e-3, 250e-3, 500e-3, 1.0};
  return *b;
}

template <typename T>
T* Family<T>::With(const std::vector<absl::string_view>& values) {
  std::string key = absl::StrJoin(values, absl::string_view("\xff", 1));
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = index_.find(key);
    if (it != index_.end()) return series_[it->second].second.get();
  }
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = index_.try_emplace(key, series_.size());
  if (inserted) {
    std::unique_ptr<T> series;
    if constexpr (std::is_same_v<T, Histogram>) {
      series = std::make_unique<T>(bounds_);
    } else {
      series = std::make_unique<T>();
    }
    series_.emplace_back(std::vector<std::string>(values.begin(), values.end()), std::move(series));
  }
  return series_[it->second].second.get();
}

template <typename T>
std::vector<std::pair<std::vector<std::string>, const T*>> Family<T>::Series() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<std::pair<std::vector<std::string>, const T*>> out;
  out.reserve(series_.size());
  for (const auto& [labels, s] : series_) out.emplace_back(labels, s.get());
  return out;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

std::string FormatMetricValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // The shortest text that reads back as the same double.
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

std::string EscapeLabelValue(absl::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out.append("\\\\");
    } else if (c == '"') {
      out.append("\\\"");
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

namespace {

std::string EscapeHelp(absl::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out.append("\\\\");
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void AppendLabels(std::string* out, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, absl::string_view extra_name = {},
                  absl::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return;
  out->push_back('{');
  bool first = true;
  for (size_t i = 0; i < names.size(); ++i) {
    absl::StrAppend(out, first ? "" : ",", names[i], "=\"", EscapeLabelValue(values[i]), "\"");
    first = false;
  }
  if (!extra_name.empty())
    absl::StrAppend(out, first ? "" : ",", extra_name, "=\"", extra_value, "\"");
  out->push_back('}');
}

template <typename T>
void AppendHeader(std::string* out, const Family<T>& f, absl::string_view type) {
  absl::StrAppend(out, "# HELP ", f.name(), " ", EscapeHelp(f.help()), "\n# TYPE ", f.name(), " ",
                  type, "\n");
}

// A counter or gauge family: its header and one line per series.
template <typename T>
void AppendScalarFamily(std::string* out, const Family<T>& f, absl::string_view type) {
  AppendHeader(out, f, type);
  for (const auto& [labels, series] : f.Series()) {
    out->append(f.name());
    AppendLabels(out, f.labels(), labels);
    absl::StrAppend(out, " ", FormatMetricValue(series->Value()), "\n");
  }
}

}  // namespace

void GaugeWriter::Begin(absl::string_view name, absl::string_view help, absl::string_view type) {
  absl::StrAppend(out_, "# HELP ", name, " ", EscapeHelp(help), "\n# TYPE ", name, " ", type, "\n");
}

void GaugeWriter::Sample(absl::string_view name,
                         const std::vector<std::pair<absl::string_view, absl::string_view>>& labels,
                         double value) {
  out_->append(name.data(), name.size());
  if (!labels.empty()) {
    out_->push_back('{');
    for (size_t i = 0; i < labels.size(); ++i) {
      absl::StrAppend(out_, i ? "," : "", labels[i].first, "=\"",
                      EscapeLabelValue(labels[i].second), "\"");
    }
    out_->push_back('}');
  }
  absl::StrAppend(out_, " ", FormatMetricValue(value), "\n");
}

Family<Counter>* MetricsRegistry::AddCounter(std::string name, std::string help,
                                             std::vector<std::string> labels) {
  absl::MutexLock lock(&mu_);
  counters_.push_back(
      std::make_unique<Family<Counter>>(std::move(name), std::move(help), std::move(labels)));
  return counters_.back().get();
}

Family<Gauge>* MetricsRegistry::AddGauge(std::string name, std::string help,
                                         std::vector<std::string> labels) {
  absl::MutexLock lock(&mu_);
  gauges_.push_back(
      std::make_unique<Family<Gauge>>(std::move(name), std::move(help), std::move(labels)));
  return gauges_.back().get();
}

Family<Histogram>* MetricsRegistry::AddHistogram(std::string name, std::string help,
                                                 std::vector<std::string> labels,
                                                 const std::vector<double>* bounds) {
  absl::MutexLock lock(&mu_);
  histograms_.push_back(std::make_unique<Family<Histogram>>(std::move(name), std::move(help),
                                                            std::move(labels), bounds));
  return histograms_.back().get();
}

void MetricsRegistry::AddCollector(std::function<void(GaugeWriter*)> collect) {
  absl::MutexLock lock(&mu_);
  collectors_.push_back(std::move(collect));
}

std::string MetricsRegistry::Expose() const {
  absl::MutexLock lock(&mu_);
  std::string out;
  for (const auto& f : counters_) AppendScalarFamily(&out, *f, "counter");
  for (const auto& f : gauges_) AppendScalarFamily(&out, *f, "gauge");
  for (const auto& f : histograms_) {
    AppendHeader(&out, *f, "histogram");
    for (const auto& [labels, h] : f->Series()) {
      const std::vector<uint64_t> counts = h->CumulativeCounts();
      // Read after the counts: a concurrent Observe may make the sum run slightly ahead.
      const double sum = h->Sum();
      for (size_t i = 0; i < counts.size(); ++i) {
        absl::StrAppend(&out, f->name(), "_bucket");
        AppendLabels(&out, f->labels(), labels, "le",
                     i + 1 < counts.size() ? FormatMetricValue(h->Bound(i)) : std::string("+Inf"));
        absl::StrAppend(&out, " ", counts[i], "\n");
      }
      absl::StrAppend(&out, f->name(), "_sum");
      AppendLabels(&out, f->labels(), labels);
      absl::StrAppend(&out, " ", FormatMetricValue(sum), "\n", f->name(), "_count");
      AppendLabels(&out, f->labels(), labels);
      absl::StrAppend(&out, " ", counts.back(), "\n");
    }
  }
  GaugeWriter writer(&out);
  for (const auto& collect : collectors_) collect(&writer);
  return out;
}

}  // namespace simsearch
