// The metric types, their families and the registry's text exposition.
#include "metrics/registry.h"

#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <utility>

namespace signer {
namespace {

using base::Result;
using base::Status;

// The key types Substrate and Polkadot define; anything else is reported as "other".
constexpr std::array<std::string_view, 10> kKnownKeyTypes = {
    "acco", "asgn", "audi", "aura", "babe", "beef", "gran", "imon", "mixn", "para"};

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

std::string EscapeHelp(std::string_view help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// AppendLabels writes {a="x",b="y"} plus an optional extra pair (the histogram's le); nothing when
// there is no label at all.
void AppendLabels(std::string& out, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, std::string_view extra_name = {},
                  std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) {
    return;
  }
  out += '{';
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) {
      out += ',';
    }
    out += names[i];
    out += "=\"";
    out += EscapeLabelValue(values[i]);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!names.empty()) {
      out += ',';
    }
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

}  // namespace

bool IsValidMetricName(std::string_view name) {
  if (name.empty() || !(IsNameStart(name[0]) || name[0] == ':')) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) { return IsNameChar(c) || c == ':'; });
}

bool IsValidLabelName(std::string_view name) {
  return !name.empty() && IsNameStart(name[0]) && !name.starts_with("__") &&
         std::all_of(name.begin(), name.end(), IsNameChar);
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatSampleValue(double value) {
  if (std::isnan(value)) {
    return "NaN";
  }
  if (std::isinf(value)) {
    return value > 0 ? "+Inf" : "-Inf";
  }
  std::array<char, 32> buffer{};
  const auto [end, error] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  if (error != std::errc()) {
    return "NaN";
  }
  return std::string(buffer.data(), end);
}

std::string_view KeyTypeLabel(std::string_view key_type) {
  for (std::string_view known : kKnownKeyTypes) {
    if (key_type == known) {
      return known;
    }
  }
  return "other";
}

// --- Histogram ---

Histogram::Histogram(std::shared_ptr<const std::vector<double>> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(upper_bounds_->size() + 1)) {}

void Histogram::Observe(double value) {
  const auto bound = std::lower_bound(upper_bounds_->begin(), upper_bounds_->end(), value);
  const auto index = static_cast<size_t>(bound - upper_bounds_->begin());
  counts_[index].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot snapshot;
  snapshot.counts.resize(upper_bounds_->size() + 1);
  for (size_t i = 0; i < snapshot.counts.size(); ++i) {
    snapshot.counts[i] = counts_[i].load(std::memory_order_relaxed);
  }
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  return snapshot;
}

// --- Family ---

template <typename Metric>
Metric& Family<Metric>::With(std::span<const std::string_view> label_values) {
  if (label_values.size() != label_names_.size()) {
    return *discarded_;
  }
  {
    base::ReaderMutexLock lock(mutex_);
    if (auto found = series_.find(label_values); found != series_.end()) {
      return *found->second;
    }
  }
  base::WriterMutexLock lock(mutex_);
  auto [slot, inserted] =
      series_.try_emplace(std::vector<std::string>(label_values.begin(), label_values.end()));
  if (inserted) {
    slot->second = make_();
  }
  return *slot->second;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// --- MetricsRegistry ---

struct MetricsRegistry::Entry {
  std::unique_ptr<Family<Counter>> counter;
  std::unique_ptr<Family<Gauge>> gauge;
  std::unique_ptr<Family<Histogram>> histogram;
  std::shared_ptr<const std::vector<double>> upper_bounds;  // histograms only

  const std::string& name() const {
    return counter ? counter->name() : gauge ? gauge->name() : histogram->name();
  }
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

Status MetricsRegistry::CheckNew(const std::string& name,
                                 const std::vector<std::string>& label_names) {
  if (!IsValidMetricName(name)) {
    return Status::InvalidArgument("not a valid metric name: " + name);
  }
  for (const std::string& label : label_names) {
    if (!IsValidLabelName(label)) {
      return Status::InvalidArgument("not a valid label name: " + label);
    }
    if (std::count(label_names.begin(), label_names.end(), label) != 1) {
      return Status::InvalidArgument("duplicate label name: " + label);
    }
  }
  for (const auto& entry : entries_) {
    if (entry->name() == name) {
      return Status::InvalidArgument("metric registered twice: " + name);
    }
  }
  return Status::Ok();
}

Result<Family<Counter>*> MetricsRegistry::AddCounter(std::string name, std::string help,
                                                     std::vector<std::string> label_names) {
  base::MutexLock lock(mutex_);
  SIGNER_RETURN_IF_ERROR(CheckNew(name, label_names));
  auto entry = std::make_unique<Entry>();
  entry->counter =
      std::make_unique<Family<Counter>>(std::move(name), std::move(help), std::move(label_names),
                                        [] { return std::make_unique<Counter>(); });
  Family<Counter>* family = entry->counter.get();
  if (family->label_names().empty()) {
    family->With({});  // a metric without labels exists (at 0) from the start
  }
  entries_.push_back(std::move(entry));
  return family;
}

Result<Family<Gauge>*> MetricsRegistry::AddGauge(std::string name, std::string help,
                                                 std::vector<std::string> label_names) {
  base::MutexLock lock(mutex_);
  SIGNER_RETURN_IF_ERROR(CheckNew(name, label_names));
  auto entry = std::make_unique<Entry>();
  entry->gauge =
      std::make_unique<Family<Gauge>>(std::move(name), std::move(help), std::move(label_names),
                                      [] { return std::make_unique<Gauge>(); });
  Family<Gauge>* family = entry->gauge.get();
  if (family->label_names().empty()) {
    family->With({});
  }
  entries_.push_back(std::move(entry));
  return family;
}

Result<Family<Histogram>*> MetricsRegistry::AddHistogram(std::string name, std::string help,
                                                         std::vector<std::string> label_names,
                                                         std::vector<double> upper_bounds) {
  base::MutexLock lock(mutex_);
  SIGNER_RETURN_IF_ERROR(CheckNew(name, label_names));
  if (std::find(label_names.begin(), label_names.end(), "le") != label_names.end()) {
    return Status::InvalidArgument("a histogram cannot have a label named le: " + name);
  }
  if (upper_bounds.empty()) {
    return Status::InvalidArgument("a histogram needs at least one bucket: " + name);
  }
  for (size_t i = 0; i < upper_bounds.size(); ++i) {
    if (!std::isfinite(upper_bounds[i]) || (i > 0 && upper_bounds[i] <= upper_bounds[i - 1])) {
      return Status::InvalidArgument("histogram bounds must be finite and increasing: " + name);
    }
  }
  auto entry = std::make_unique<Entry>();
  entry->upper_bounds = std::make_shared<const std::vector<double>>(std::move(upper_bounds));
  entry->histogram = std::make_unique<Family<Histogram>>(
      std::move(name), std::move(help), std::move(label_names),
      [bounds = entry->upper_bounds] { return std::make_unique<Histogram>(bounds); });
  Family<Histogram>* family = entry->histogram.get();
  if (family->label_names().empty()) {
    family->With({});
  }
  entries_.push_back(std::move(entry));
  return family;
}

void MetricsRegistry::AddScrapeHook(std::function<void()> hook) {
  base::MutexLock lock(mutex_);
  hooks_.push_back(std::move(hook));
}

std::string MetricsRegistry::Render() {
  base::MutexLock lock(mutex_);
  for (const auto& hook : hooks_) {
    hook();
  }
  std::string out;
  for (const auto& entry : entries_) {
    const std::string& name = entry->name();
    const char* type = entry->counter ? "counter" : entry->gauge ? "gauge" : "histogram";
    const std::string& help = entry->counter ? entry->counter->help()
                              : entry->gauge ? entry->gauge->help()
                                             : entry->histogram->help();
    out += "# HELP " + name + " " + EscapeHelp(help) + "\n";
    out += "# TYPE " + name + " " + type + "\n";
    if (entry->counter) {
      const auto& labels = entry->counter->label_names();
      entry->counter->ForEach([&](const std::vector<std::string>& values, const Counter& counter) {
        out += name;
        AppendLabels(out, labels, values);
        out += ' ' + std::to_string(counter.value()) + '\n';
      });
    } else if (entry->gauge) {
      const auto& labels = entry->gauge->label_names();
      entry->gauge->ForEach([&](const std::vector<std::string>& values, const Gauge& gauge) {
        out += name;
        AppendLabels(out, labels, values);
        out += ' ' + FormatSampleValue(gauge.value()) + '\n';
      });
    } else {
      const auto& labels = entry->histogram->label_names();
      const std::vector<double>& bounds = *entry->upper_bounds;
      entry->histogram->ForEach(
          [&](const std::vector<std::string>& values, const Histogram& histogram) {
            const Histogram::Snapshot snapshot = histogram.Read();
            // Cumulative by definition; _count is the +Inf bucket so the two always agree.
            uint64_t cumulative = 0;
            for (size_t i = 0; i < snapshot.counts.size(); ++i) {
              cumulative += snapshot.counts[i];
              const std::string le =
                  i < bounds.size() ? FormatSampleValue(bounds[i]) : std::string("+Inf");
              out += name + "_bucket";
              AppendLabels(out, labels, values, "le", le);
              out += ' ' + std::to_string(cumulative) + '\n';
            }
            out += name + "_sum";
            AppendLabels(out, labels, values);
            out += ' ' + FormatSampleValue(snapshot.sum) + '\n';
            out += name + "_count";
            AppendLabels(out, labels, values);
            out += ' ' + std::to_string(cumulative) + '\n';
          });
    }
  }
  return out;
}

std::string_view GrpcCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "UNKNOWN";
  }
}

}  // namespace signer
