// The registry's rules and its text exposition: naming, escaping, histograms, one series per label
// set.
#include "metrics/registry.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "support/loopback.h"

namespace signer {
namespace {

TEST(MetricsFormatTest, LabelValuesAreEscaped) {
  EXPECT_EQ(EscapeLabelValue("plain"), "plain");
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");

  MetricsRegistry registry;
  auto family =
      registry.AddCounter("test_escaped_total", "Help with a \\ and a\nnewline.", {"value"});
  ASSERT_TRUE(family.ok());
  (*family)->With({"x\"y\\z\nw"}).Increment(3);
  const std::string text = registry.Render();
  EXPECT_NE(text.find("# HELP test_escaped_total Help with a \\\\ and a\\nnewline.\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("test_escaped_total{value=\"x\\\"y\\\\z\\nw\"} 3\n"), std::string::npos)
      << text;
}

TEST(MetricsFormatTest, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  MetricsRegistry registry;
  auto family = registry.AddHistogram("test_latency_seconds", "Latency.", {"method"}, {1, 2, 5});
  ASSERT_TRUE(family.ok());
  Histogram& histogram = (*family)->With({"Sign"});
  // Prometheus buckets are "less than or equal": 1 falls in le="1".
  for (double value : {0.5, 1.0, 1.5, 3.0, 10.0}) {
    histogram.Observe(value);
  }
  const std::string text = registry.Render();
  EXPECT_EQ(
      support::PrometheusSample(text, "test_latency_seconds_bucket{method=\"Sign\",le=\"1\"}"), 2);
  EXPECT_EQ(
      support::PrometheusSample(text, "test_latency_seconds_bucket{method=\"Sign\",le=\"2\"}"), 3);
  EXPECT_EQ(
      support::PrometheusSample(text, "test_latency_seconds_bucket{method=\"Sign\",le=\"5\"}"), 4);
  EXPECT_EQ(
      support::PrometheusSample(text, "test_latency_seconds_bucket{method=\"Sign\",le=\"+Inf\"}"),
      5);
  EXPECT_EQ(support::PrometheusSample(text, "test_latency_seconds_sum{method=\"Sign\"}"), 16);
  EXPECT_EQ(support::PrometheusSample(text, "test_latency_seconds_count{method=\"Sign\"}"), 5);
  EXPECT_NE(text.find("# TYPE test_latency_seconds histogram\n"), std::string::npos);
  // Buckets come in increasing order, +Inf last, then _sum and _count.
  const size_t le1 = text.find("le=\"1\"");
  const size_t le5 = text.find("le=\"5\"");
  const size_t inf = text.find("le=\"+Inf\"");
  const size_t sum = text.find("test_latency_seconds_sum");
  ASSERT_NE(le1, std::string::npos);
  EXPECT_LT(le1, le5);
  EXPECT_LT(le5, inf);
  EXPECT_LT(inf, sum);
}

TEST(MetricsFormatTest, EachLabelSetIsOneSeriesAndWrongArityIsDropped) {
  MetricsRegistry registry;
  auto family = registry.AddCounter("test_requests_total", "Requests.", {"method", "code"});
  ASSERT_TRUE(family.ok());
  (*family)->With({"SignWith", "OK"}).Increment();
  (*family)->With({"SignWith", "OK"}).Increment();
  (*family)->With({"Keys", "OK"}).Increment();
  EXPECT_EQ(&(*family)->With({"SignWith", "OK"}), &(*family)->With({"SignWith", "OK"}));
  (*family)->With({"only-one"}).Increment(100);
  const std::string text = registry.Render();
  EXPECT_EQ(support::PrometheusSample(text, "test_requests_total{method=\"SignWith\",code=\"OK\"}"),
            2);
  EXPECT_EQ(support::PrometheusSample(text, "test_requests_total{method=\"Keys\",code=\"OK\"}"), 1);
  EXPECT_EQ(text.find("only-one"), std::string::npos) << text;
  EXPECT_EQ(text.find(" 100"), std::string::npos) << text;
  // Series are sorted by label values.
  EXPECT_LT(text.find("method=\"Keys\""), text.find("method=\"SignWith\""));

  // A family without labels exists from the start, at 0.
  auto plain = registry.AddGauge("test_plain", "Plain gauge.", {});
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(support::PrometheusSample(registry.Render(), "test_plain"), 0);
}

TEST(MetricsFormatTest, RegistrationRefusesWhatPrometheusWouldNot) {
  MetricsRegistry registry;
  EXPECT_FALSE(registry.AddCounter("1starts_with_digit_total", "h", {}).ok());
  EXPECT_FALSE(registry.AddCounter("has-dash_total", "h", {}).ok());
  EXPECT_FALSE(registry.AddCounter("ok_total", "h", {"__reserved"}).ok());
  EXPECT_FALSE(registry.AddCounter("ok_total", "h", {"a:b"}).ok());
  EXPECT_FALSE(registry.AddCounter("ok_total", "h", {"a", "a"}).ok());
  EXPECT_FALSE(registry.AddHistogram("h_seconds", "h", {"le"}, {1}).ok());
  EXPECT_FALSE(registry.AddHistogram("h_seconds", "h", {}, {}).ok());
  EXPECT_FALSE(registry.AddHistogram("h_seconds", "h", {}, {2, 1}).ok());
  EXPECT_FALSE(
      registry.AddHistogram("h_seconds", "h", {}, {1, std::numeric_limits<double>::infinity()})
          .ok());
  ASSERT_TRUE(registry.AddCounter("ok_total", "h", {"a"}).ok());
  EXPECT_FALSE(registry.AddGauge("ok_total", "h", {}).ok());
  EXPECT_TRUE(IsValidMetricName("ns:sub_total"));
  EXPECT_FALSE(IsValidLabelName("ns:sub"));
}

TEST(MetricsFormatTest, SampleValuesUseTheTextFormatSpellings) {
  EXPECT_EQ(FormatSampleValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatSampleValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatSampleValue(std::nan("")), "NaN");
  EXPECT_EQ(FormatSampleValue(0.25), "0.25");
  EXPECT_EQ(FormatSampleValue(3), "3");
  EXPECT_EQ(FormatSampleValue(-1.5), "-1.5");
}

TEST(MetricsFormatTest, UnknownKeyTypesShareOneLabel) {
  EXPECT_EQ(KeyTypeLabel("gran"), "gran");
  EXPECT_EQ(KeyTypeLabel("babe"), "babe");
  EXPECT_EQ(KeyTypeLabel("zzzz"), "other");
  EXPECT_EQ(KeyTypeLabel("gran\"} 1\n"), "other");
}

}  // namespace
}  // namespace signer
