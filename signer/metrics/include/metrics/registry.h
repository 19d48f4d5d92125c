// Prometheus metrics for every service: counters, gauges, histograms in labelled families, and
// a registry that renders them in the text exposition format.
//
// Thread safety: everything here is thread-safe. Updating a metric is one or two atomic operations;
// the first use of a new label set takes a lock once. Render runs the scrape hooks and is
// serialised with itself.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <grpcpp/support/status_code_enum.h>

#include "base/status.h"
#include "base/thread_annotations.h"

namespace signer {

// Counter only goes up. Set is for counters kept elsewhere and mirrored at scrape time.
class Counter {
 public:
  void Increment(uint64_t amount = 1) { value_.fetch_add(amount, std::memory_order_relaxed); }
  void Set(uint64_t total) { value_.store(total, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// Gauge is a value that goes up and down.
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double amount) { value_.fetch_add(amount, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Histogram counts observations into buckets with fixed upper bounds (exposed cumulatively, with
// `le="+Inf"` added) and keeps their sum.
class Histogram {
 public:
  // `upper_bounds` are strictly increasing and finite; the registry checks that.
  explicit Histogram(std::shared_ptr<const std::vector<double>> upper_bounds);

  void Observe(double value);

  // Snapshot is a consistent-enough read for exposition: `counts` per bucket (not cumulative),
  // the last one being +Inf.
  struct Snapshot {
    std::vector<uint64_t> counts;
    double sum = 0;
  };
  Snapshot Read() const;

 private:
  const std::shared_ptr<const std::vector<double>> upper_bounds_;  // shared by the family
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

// Family is one metric name with its label names; each distinct label-value list is one series.
// With() returns the series for `label_values` (created on first use); the reference stays valid
// as long as the registry. A list of the wrong length is a programming error: it returns a series
// that is never exposed, so a mistake loses a sample instead of corrupting the output.
template <typename Metric>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::function<std::unique_ptr<Metric>()> make)
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        make_(std::move(make)),
        discarded_(make_()) {}

  Metric& With(std::initializer_list<std::string_view> label_values) {
    return With(std::span<const std::string_view>(label_values.begin(), label_values.size()));
  }
  Metric& With(std::span<const std::string_view> label_values) EXCLUDES(mutex_);

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

  // ForEach calls `visit(label_values, metric)` for every series, in label order.
  template <typename Visit>
  void ForEach(Visit&& visit) const EXCLUDES(mutex_) {
    base::ReaderMutexLock lock(mutex_);
    for (const auto& [values, metric] : series_) {
      visit(values, *metric);
    }
  }

 private:
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const std::function<std::unique_ptr<Metric>()> make_;
  // LabelsLess lets a lookup by string_views find a stored series without building strings.
  struct LabelsLess {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return std::lexicographical_compare(
          a.begin(), a.end(), b.begin(), b.end(),
          [](std::string_view x, std::string_view y) { return x < y; });
    }
  };

  // Readers look series up; a writer adds one. A series, once added, is never removed, so the
  // references handed out stay valid without the lock.
  mutable base::SharedMutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>, LabelsLess> series_
      GUARDED_BY(mutex_);
  std::unique_ptr<Metric> discarded_;
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

// MetricsRegistry holds metric families and renders them in the Prometheus text format 0.0.4.
class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // AddCounter, AddGauge and AddHistogram register a family. They fail with kInvalidArgument on a
  // name or label name Prometheus does not accept, a name already registered, a histogram label
  // named `le`, or histogram bounds that are not finite and strictly increasing. The family lives
  // as long as the registry.
  [[nodiscard]] base::Result<Family<Counter>*> AddCounter(std::string name, std::string help,
                                                          std::vector<std::string> label_names)
      EXCLUDES(mutex_);
  [[nodiscard]] base::Result<Family<Gauge>*> AddGauge(std::string name, std::string help,
                                                      std::vector<std::string> label_names)
      EXCLUDES(mutex_);
  [[nodiscard]] base::Result<Family<Histogram>*> AddHistogram(std::string name, std::string help,
                                                              std::vector<std::string> label_names,
                                                              std::vector<double> upper_bounds)
      EXCLUDES(mutex_);

  // AddScrapeHook registers `hook` to run at the start of every Render, before anything is read:
  // it copies values kept elsewhere (replication figures, certificate expiry) into gauges and
  // counters. Hooks run on the scraping thread, one Render at a time; what they capture must
  // outlive the registry's last Render.
  void AddScrapeHook(std::function<void()> hook) EXCLUDES(mutex_);

  // Render runs the scrape hooks and returns the exposition: for each family in registration
  // order a `# HELP` and a `# TYPE` line, then its series sorted by label values.
  std::string Render() EXCLUDES(mutex_);

 private:
  struct Entry;
  base::Status CheckNew(const std::string& name, const std::vector<std::string>& label_names)
      REQUIRES(mutex_);

  base::Mutex mutex_;  // guards registration and the hooks; held for all of Render
  std::vector<std::unique_ptr<Entry>> entries_ GUARDED_BY(mutex_);
  std::vector<std::function<void()>> hooks_ GUARDED_BY(mutex_);
};

// IsValidMetricName and IsValidLabelName apply Prometheus' naming rules
// ([a-zA-Z_:][a-zA-Z0-9_:]* for metrics; no colon and no leading "__" for labels).
bool IsValidMetricName(std::string_view name);
bool IsValidLabelName(std::string_view name);

// EscapeLabelValue escapes backslash, double quote and newline as the text format requires.
std::string EscapeLabelValue(std::string_view value);

// FormatSampleValue writes a value the way the text format reads it: shortest round-trip
// decimal, and +Inf, -Inf, NaN.
std::string FormatSampleValue(double value);

// GrpcCodeName is the canonical upper-case name of a gRPC status code ("OK", "FAILED_PRECONDITION",
// ...), the `code` label of every service's request metrics.
std::string_view GrpcCodeName(grpc::StatusCode code);

// KeyTypeLabel bounds key-type labels: the well-known Substrate key types keep their name, any
// other value (a client can send anything) becomes "other".
std::string_view KeyTypeLabel(std::string_view key_type);

}  // namespace signer
