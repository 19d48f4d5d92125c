// Metrics tests: exposition format, signerd's metric set checked by promtool, the decorators, the
// /metrics listener, and the monitoring rules in infra/monitoring.
#include "signerd/metrics.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <chrono>

#include "keymgr/keypair.h"
#include "signerd/metrics_http.h"
#include "support/dev_pki.h"
#include "support/in_memory_custody.h"
#include "support/loopback.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace signer {
namespace {

namespace fs = std::filesystem;

constexpr char kPromtool[] = "/usr/bin/promtool";

// SampleValue finds the sample line that starts with `series` (name plus labels exactly as
// rendered) and returns its value.
std::optional<double> SampleValue(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::strtod(line.c_str() + series.size() + 1, nullptr);
    }
  }
  return std::nullopt;
}

// RunPromtool runs promtool with `arguments`, feeding `input` on stdin when given; returns its
// exit status and collects its output.
int RunPromtool(std::vector<std::string> arguments, const std::optional<std::string>& input,
                std::string& output) {
  arguments.insert(arguments.begin(), kPromtool);
  support::ProcessOptions options;
  options.stdin_text = input.value_or("");
  const support::ProcessResult run =
      support::ResultOrStartFailure(support::RunProcess(arguments, options));
  output = run.out + run.err;
  return run.exit_code;
}

// RepoRoot finds the source tree from this file's name, which the build may have made relative
// (ccache's base directory rewriting) to a directory above the one tests run in.
std::optional<fs::path> RepoRoot() {
  const fs::path self = __FILE__;
  const fs::path suffix = fs::path("signer") / "signerd" / "src" / "metrics_test.cc";
  std::vector<fs::path> candidates;
  if (self.is_absolute()) {
    candidates.push_back(self);
  } else {
    for (fs::path base = fs::current_path();; base = base.parent_path()) {
      candidates.push_back(base / self);
      if (base == base.parent_path()) {
        break;
      }
    }
  }
  for (const fs::path& candidate : candidates) {
    std::error_code error;
    if (fs::exists(candidate, error) && candidate.string().ends_with(suffix.string())) {
      return fs::weakly_canonical(candidate)
          .parent_path()
          .parent_path()
          .parent_path()
          .parent_path();
    }
  }
  return std::nullopt;
}

using support::HttpRequest;

std::string BodyOf(const std::string& response) {
  const size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

// Plain is a listener without TLS on `listen`.
MetricsListenerOptions Plain(std::string listen) {
  MetricsListenerOptions options;
  options.listen = std::move(listen);
  return options;
}

// TlsClientOptions is what a test scraper offers and checks.
struct TlsClientOptions {
  fs::path ca_file;                       // the server certificate must chain to it
  std::string server_name = "localhost";  // checked against the certificate's names
  int max_version = TLS1_3_VERSION;
};

// HttpsRequest sends one GET over TLS (OpenSSL, verifying the server) to 127.0.0.1:`port` and
// returns the whole response, or "" if the connection or the handshake fails.
std::string HttpsExchange(int port, const std::string& request, const TlsClientOptions& options) {
  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  if (context == nullptr) return "";
  SSL_CTX_set_max_proto_version(context, options.max_version);
  SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
  std::string response;
  if (SSL_CTX_load_verify_locations(context, options.ca_file.c_str(), nullptr) == 1) {
    const base::Result<int> fd = support::ConnectToLoopback(port);
    SSL* ssl = SSL_new(context);
    if (fd.ok() && ssl != nullptr && SSL_set_fd(ssl, *fd) == 1 &&
        SSL_set1_host(ssl, options.server_name.c_str()) == 1 &&
        SSL_set_tlsext_host_name(ssl, options.server_name.c_str()) == 1 && SSL_connect(ssl) == 1) {
      if (SSL_write(ssl, request.data(), static_cast<int>(request.size())) > 0) {
        char buffer[4096];
        for (;;) {
          const int got = SSL_read(ssl, buffer, sizeof(buffer));
          if (got <= 0) break;
          response.append(buffer, static_cast<size_t>(got));
        }
      }
    }
    SSL_free(ssl);
    if (fd.ok()) ::close(*fd);
  }
  SSL_CTX_free(context);
  ERR_clear_error();
  return response;
}

// HttpsRequest sends GET `path` over TLS (see HttpsExchange).
std::string HttpsRequest(int port, const std::string& path, const TlsClientOptions& options) {
  return HttpsExchange(
      port, "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", options);
}

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
  EXPECT_EQ(SampleValue(text, "test_latency_seconds_bucket{method=\"Sign\",le=\"1\"}"), 2);
  EXPECT_EQ(SampleValue(text, "test_latency_seconds_bucket{method=\"Sign\",le=\"2\"}"), 3);
  EXPECT_EQ(SampleValue(text, "test_latency_seconds_bucket{method=\"Sign\",le=\"5\"}"), 4);
  EXPECT_EQ(SampleValue(text, "test_latency_seconds_bucket{method=\"Sign\",le=\"+Inf\"}"), 5);
  EXPECT_EQ(SampleValue(text, "test_latency_seconds_sum{method=\"Sign\"}"), 16);
  EXPECT_EQ(SampleValue(text, "test_latency_seconds_count{method=\"Sign\"}"), 5);
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
  EXPECT_EQ(SampleValue(text, "test_requests_total{method=\"SignWith\",code=\"OK\"}"), 2);
  EXPECT_EQ(SampleValue(text, "test_requests_total{method=\"Keys\",code=\"OK\"}"), 1);
  EXPECT_EQ(text.find("only-one"), std::string::npos) << text;
  EXPECT_EQ(text.find(" 100"), std::string::npos) << text;
  // Series are sorted by label values.
  EXPECT_LT(text.find("method=\"Keys\""), text.find("method=\"SignWith\""));

  // A family without labels exists from the start, at 0.
  auto plain = registry.AddGauge("test_plain", "Plain gauge.", {});
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(SampleValue(registry.Render(), "test_plain"), 0);
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

// PopulatedSignerMetrics feeds every family of signerd's metric set.
std::unique_ptr<SignerMetrics> PopulatedSignerMetrics() {
  auto created = SignerMetrics::Create();
  EXPECT_TRUE(created.ok()) << created.status().message();
  std::unique_ptr<SignerMetrics> metrics = std::move(*created);
  using std::chrono::milliseconds;
  metrics->OnRequest("SignWith", "OK", milliseconds(3));
  metrics->OnRequest("SignWith", "FAILED_PRECONDITION", milliseconds(2));
  metrics->OnRequest("Keys", "PERMISSION_DENIED", milliseconds(1));
  metrics->OnShed("SignWith");
  metrics->OnRequest("SignWith", "RESOURCE_EXHAUSTED", std::chrono::microseconds(10));
  slashing::DecisionEvent allowed;
  allowed.domain = slashing::Domain::kGrandpaPrevote;
  allowed.verdict = slashing::Verdict::kAllowedNew;
  allowed.latency = std::chrono::microseconds(400);
  metrics->OnDecision(allowed);
  slashing::DecisionEvent refused = allowed;
  refused.verdict = slashing::Verdict::kRefusedGrandpaEquivocation;
  metrics->OnDecision(refused);
  slashing::DecisionEvent unprotected;
  unprotected.verdict = slashing::Verdict::kAllowedUnprotected;
  metrics->OnDecision(unprotected);
  slashing::DecisionEvent failed;
  failed.domain = slashing::Domain::kBabe;
  metrics->OnDecision(failed);
  metrics->OnHsmError("sign");
  metrics->OnAuditWriteFailure();
  std::vector<keymgr::KeyInfo> keys(3);
  keys[0].id.key_type = *base::MakeKeyTypeId("gran");
  keys[1].id.key_type = *base::MakeKeyTypeId("babe");
  keys[2].id.key_type = *base::MakeKeyTypeId("zzzz");
  metrics->SetKeysLoaded(keys);
  metrics->ObserveClaimRoundTrip(milliseconds(12));
  metrics->WatchInFlight([] { return size_t{7}; });
  metrics->WatchCertificates([] {
    const auto now = std::chrono::system_clock::now();
    return CertificateExpiry{now + std::chrono::hours(24 * 30), now + std::chrono::hours(24 * 365)};
  });
  metrics->WatchReplication([] {
    ReplicationStats stats;
    stats.replicated = true;
    stats.consumer_lag = 4;
    stats.claims_produced = 10;
    stats.claims_won = 8;
    stats.claims_lost = 1;
    stats.claims_timed_out = 1;
    stats.records_applied = 25;
    stats.audit_published = 30;
    stats.audit_failed = 2;
    return stats;
  });
  return metrics;
}

TEST(SignerMetricsTest, EveryFamilyRendersWhatItWasFed) {
  auto metrics = PopulatedSignerMetrics();
  const std::string text = metrics->Render();
  EXPECT_EQ(SampleValue(text, "signer_requests_total{method=\"SignWith\",code=\"OK\"}"), 1);
  EXPECT_EQ(
      SampleValue(text, "signer_requests_total{method=\"SignWith\",code=\"RESOURCE_EXHAUSTED\"}"),
      1);
  EXPECT_EQ(SampleValue(text, "signer_request_duration_seconds_count{method=\"SignWith\"}"), 3);
  EXPECT_EQ(SampleValue(text, "signer_requests_shed_total{method=\"SignWith\"}"), 1);
  EXPECT_EQ(SampleValue(text, "signer_requests_in_flight"), 7);
  EXPECT_EQ(SampleValue(text,
                        "signer_decisions_total{domain=\"grandpa_prevote\",verdict="
                        "\"refused_grandpa_equivocation\"}"),
            1);
  EXPECT_EQ(
      SampleValue(text, "signer_decisions_total{domain=\"none\",verdict=\"allowed_unprotected\"}"),
      1);
  EXPECT_EQ(SampleValue(text, "signer_decisions_total{domain=\"babe\",verdict=\"error\"}"), 1);
  EXPECT_EQ(SampleValue(text, "signer_decision_duration_seconds_count{domain=\"grandpa_prevote\"}"),
            2);
  EXPECT_EQ(SampleValue(text, "signer_hsm_errors_total{operation=\"sign\"}"), 1);
  EXPECT_EQ(SampleValue(text, "signer_hsm_errors_total{operation=\"list\"}"), 0);
  EXPECT_EQ(SampleValue(text, "signer_audit_write_failures_total"), 1);
  EXPECT_EQ(SampleValue(text, "signer_keys_loaded{key_type=\"gran\"}"), 1);
  EXPECT_EQ(SampleValue(text, "signer_keys_loaded{key_type=\"other\"}"), 1);
  EXPECT_EQ(text.find("zzzz"), std::string::npos);
  const auto server_expiry =
      SampleValue(text, "signer_tls_certificate_expiry_seconds{certificate=\"server\"}");
  ASSERT_TRUE(server_expiry.has_value());
  EXPECT_NEAR(*server_expiry, 30 * 86400.0, 60);
  EXPECT_EQ(SampleValue(text, "signer_replicated"), 1);
  EXPECT_EQ(SampleValue(text, "signer_replication_consumer_lag"), 4);
  EXPECT_EQ(SampleValue(text, "signer_replication_claims_produced_total"), 10);
  EXPECT_EQ(SampleValue(text, "signer_replication_claims_total{outcome=\"won\"}"), 8);
  EXPECT_EQ(SampleValue(text, "signer_replication_claims_total{outcome=\"timed_out\"}"), 1);
  EXPECT_EQ(SampleValue(text, "signer_replication_records_applied_total"), 25);
  EXPECT_EQ(SampleValue(text, "signer_audit_stream_records_total{result=\"failed\"}"), 2);
  EXPECT_EQ(SampleValue(text, "signer_replication_claim_round_trip_seconds_bucket{le=\"0.025\"}"),
            1);
  EXPECT_EQ(SampleValue(text, "signer_replication_claim_round_trip_seconds_bucket{le=\"0.01\"}"),
            0);
}

TEST(SignerMetricsTest, KeysLoadedDropsToZeroForAKeyTypeNoLongerHeld) {
  auto created = SignerMetrics::Create();
  ASSERT_TRUE(created.ok());
  std::vector<keymgr::KeyInfo> keys(2);
  keys[0].id.key_type = *base::MakeKeyTypeId("gran");
  keys[1].id.key_type = *base::MakeKeyTypeId("gran");
  (*created)->SetKeysLoaded(keys);
  EXPECT_EQ(SampleValue((*created)->Render(), "signer_keys_loaded{key_type=\"gran\"}"), 2);
  (*created)->SetKeysLoaded({});
  EXPECT_EQ(SampleValue((*created)->Render(), "signer_keys_loaded{key_type=\"gran\"}"), 0);
}

TEST(SignerMetricsTest, PromtoolAcceptsTheExposition) {
  if (!fs::exists(kPromtool)) {
    GTEST_SKIP() << "promtool is not installed (Debian package prometheus)";
  }
  std::string output;
  // The check can fail: a counter without _total and a torn label set are rejected.
  EXPECT_NE(RunPromtool({"check", "metrics"},
                        "# HELP x_count h\n# TYPE x_count counter\nx_count 1\n", output),
            0);
  EXPECT_NE(RunPromtool({"check", "metrics"},
                        "# HELP y_total h\n# TYPE y_total counter\ny_total{a=\"1\" 1\n", output),
            0);
  auto metrics = PopulatedSignerMetrics();
  const std::string text = metrics->Render();
  EXPECT_EQ(RunPromtool({"check", "metrics"}, text, output), 0) << output << "\n" << text;
  // A fresh set (no label set used yet) must pass too: that is what a scraper sees first.
  auto fresh = SignerMetrics::Create();
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(RunPromtool({"check", "metrics"}, (*fresh)->Render(), output), 0) << output;
}

TEST(MeteredCustodyTest, CountsHsmErrorsButNotNotFoundAndRefreshesKeys) {
  auto created = SignerMetrics::Create();
  ASSERT_TRUE(created.ok());
  SignerMetrics& metrics = **created;
  keymgr::InMemoryCustody inner;
  MeteredCustody custody(inner, metrics);
  const auto gran = *base::MakeKeyTypeId("gran");
  auto alice = keymgr::KeypairFromSuri(base::Scheme::kEd25519, "//Alice");
  ASSERT_TRUE(alice.ok());
  ASSERT_TRUE(custody.Import(gran, *alice).ok());
  custody.RefreshKeysLoaded();
  std::string text = metrics.Render();
  EXPECT_EQ(SampleValue(text, "signer_keys_loaded{key_type=\"gran\"}"), 1);

  const auto public_key = alice->public_key();  // one copy: begin and end of the same vector
  const keymgr::KeyId id{gran, std::vector<uint8_t>(public_key.begin(), public_key.end())};
  const std::vector<uint8_t> message = {1, 2, 3};
  inner.FailNext(keymgr::CustodyOp::kSign, base::Status::Unavailable("token removed"));
  EXPECT_FALSE(custody.Sign(id, base::Scheme::kEd25519, message).ok());
  inner.FailNext(keymgr::CustodyOp::kSign, base::Status::Internal("CKR_GENERAL_ERROR"));
  EXPECT_FALSE(custody.Sign(id, base::Scheme::kEd25519, message).ok());
  // Not held is an answer, not an HSM error.
  const keymgr::KeyId missing{gran, std::vector<uint8_t>(32, 9)};
  EXPECT_FALSE(custody.Sign(missing, base::Scheme::kEd25519, message).ok());
  EXPECT_TRUE(custody.Sign(id, base::Scheme::kEd25519, message).ok());
  text = metrics.Render();
  EXPECT_EQ(SampleValue(text, "signer_hsm_errors_total{operation=\"sign\"}"), 2);

  ASSERT_TRUE(custody.Delete(id).ok());
  custody.RefreshKeysLoaded();
  EXPECT_EQ(SampleValue(metrics.Render(), "signer_keys_loaded{key_type=\"gran\"}"), 0);
}

class FailingAudit final : public AuditSink {
 public:
  base::Status Append(const AuditRecord& /*record*/) override {
    return fail ? base::Status::Unavailable("disk full") : base::Status::Ok();
  }
  bool fail = false;
};

TEST(MeteredAuditSinkTest, CountsFailedAppendsOnly) {
  auto created = SignerMetrics::Create();
  ASSERT_TRUE(created.ok());
  FailingAudit inner;
  MeteredAuditSink sink(inner, **created);
  EXPECT_TRUE(sink.Append(AuditRecord{}).ok());
  inner.fail = true;
  EXPECT_FALSE(sink.Append(AuditRecord{}).ok());
  EXPECT_EQ(SampleValue((*created)->Render(), "signer_audit_write_failures_total"), 1);
}

TEST(MetricsHttpServerTest, ServesOnlyGetMetrics) {
  int renders = 0;
  auto server = MetricsHttpServer::Start(Plain("127.0.0.1:0"), [&renders] {
    ++renders;
    return std::string("# HELP a_total h\n# TYPE a_total counter\na_total 1\n");
  });
  ASSERT_TRUE(server.ok()) << server.status().message();
  const int port = (*server)->port();
  ASSERT_GT(port, 0);

  const std::string ok = HttpRequest(port, "GET", "/metrics");
  EXPECT_EQ(ok.rfind("HTTP/1.1 200", 0), 0u) << ok;
  EXPECT_NE(ok.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << ok;
  EXPECT_EQ(BodyOf(ok), "# HELP a_total h\n# TYPE a_total counter\na_total 1\n");
  EXPECT_EQ(renders, 1);

  EXPECT_EQ(HttpRequest(port, "GET", "/").rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_EQ(HttpRequest(port, "GET", "/metrics/x").rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_EQ(HttpRequest(port, "GET", "/etc/passwd").rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_EQ(HttpRequest(port, "POST", "/metrics").rfind("HTTP/1.1 405", 0), 0u);
  EXPECT_EQ(renders, 1);

  // The port is taken: a second listener on it fails instead of serving nothing.
  auto second = MetricsHttpServer::Start(Plain("127.0.0.1:" + std::to_string(port)),
                                         [] { return std::string(); });
  EXPECT_FALSE(second.ok());
  EXPECT_FALSE(MetricsHttpServer::Start(Plain("no-port"), [] { return std::string(); }).ok());
}

TEST(MetricsHttpServerTest, APortAloneBindsLoopbackOnly) {
  auto resolved = ResolveMetricsListen("9615");
  ASSERT_TRUE(resolved.ok()) << resolved.status().message();
  EXPECT_EQ(*resolved, std::vector<std::string>{"127.0.0.1:9615"});

  auto server = MetricsHttpServer::Start(Plain("0"), [] { return std::string("a 1\n"); });
  ASSERT_TRUE(server.ok()) << server.status().message();
  EXPECT_EQ((*server)->address(), "127.0.0.1:" + std::to_string((*server)->port()));
  EXPECT_FALSE((*server)->tls());
  EXPECT_EQ(BodyOf(HttpRequest((*server)->port(), "GET", "/metrics")), "a 1\n");
}

TEST(MetricsHttpServerTest, AcceptsHostNamesAndBracketedIpv6) {
  auto server = MetricsHttpServer::Start(Plain("localhost:0"), [] { return std::string("a 1\n"); });
  ASSERT_TRUE(server.ok()) << server.status().message();
  // localhost may resolve to ::1 first; either way the listener is on a loopback address.
  const std::string& address = (*server)->address();
  EXPECT_TRUE(address.starts_with("127.") || address.starts_with("[::1]:")) << address;
  if (address.starts_with("127.0.0.1:")) {
    EXPECT_EQ(BodyOf(HttpRequest((*server)->port(), "GET", "/metrics")), "a 1\n");
  }

  auto ipv6 = ResolveMetricsListen("[::1]:0");
  ASSERT_TRUE(ipv6.ok()) << ipv6.status().message();
  EXPECT_EQ(*ipv6, std::vector<std::string>{"[::1]:0"});
  auto v6_server = MetricsHttpServer::Start(Plain("[::1]:0"), [] { return std::string(); });
  if (v6_server.ok()) {
    EXPECT_EQ((*v6_server)->address(), "[::1]:" + std::to_string((*v6_server)->port()));
  } else {
    // A host without IPv6 cannot bind ::1; that is the bind failing, not the address parser.
    EXPECT_EQ(v6_server.status().code(), base::StatusCode::kUnavailable);
  }

  for (const std::string bad : {"::1:9615", "localhost:", ":9615", "[::1]9615", "host:99999"}) {
    auto refused = ResolveMetricsListen(bad);
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_EQ(refused.status().code(), base::StatusCode::kInvalidArgument) << bad;
  }
  // .invalid never resolves (RFC 6761).
  auto unknown = ResolveMetricsListen("metrics.invalid:0");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), base::StatusCode::kNotFound);
}

TEST(MetricsHttpServerTest, ServesTls13WithTheDevPki) {
  support::TempDir dir;
  const auto pki = support::MakeDevPki(dir.path() / "pki");
  ASSERT_TRUE(pki.ok()) << pki.status().message();
  auto server = MetricsHttpServer::Start(
      {"127.0.0.1:0", pki->server_certificate.string(), pki->server_key.string()},
      [] { return std::string("# HELP a_total h\n# TYPE a_total counter\na_total 1\n"); });
  ASSERT_TRUE(server.ok()) << server.status().message();
  EXPECT_TRUE((*server)->tls());
  const int port = (*server)->port();

  const std::string ok = HttpsRequest(port, "/metrics", {pki->ca_certificate});
  EXPECT_EQ(ok.rfind("HTTP/1.1 200", 0), 0u) << ok;
  EXPECT_EQ(BodyOf(ok), "# HELP a_total h\n# TYPE a_total counter\na_total 1\n");
  EXPECT_EQ(HttpsRequest(port, "/", {pki->ca_certificate}).rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_EQ(HttpsRequest(port, "/metrics?x=1", {pki->ca_certificate}).rfind("HTTP/1.1 200", 0), 0u);
  const std::string post = "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
  EXPECT_EQ(HttpsExchange(port, post, {pki->ca_certificate}).rfind("HTTP/1.1 405", 0), 0u);
  // The TLS listener parses the request line itself: anything that is not one is refused, and so
  // is a head that does not end within 8 KiB (sent whole, so no unread bytes reset the reply).
  EXPECT_EQ(HttpsExchange(port, "GARBAGE\r\n\r\n", {pki->ca_certificate}).rfind("HTTP/1.1 400", 0),
            0u);
  EXPECT_EQ(
      HttpsExchange(port, std::string(8192, 'A'), {pki->ca_certificate}).rfind("HTTP/1.1 400", 0),
      0u);

  // A client that stops at TLS 1.2 gets no handshake, and plain HTTP gets no page.
  TlsClientOptions tls12{pki->ca_certificate};
  tls12.max_version = TLS1_2_VERSION;
  EXPECT_EQ(HttpsRequest(port, "/metrics", tls12), "");
  EXPECT_EQ(HttpRequest(port, "GET", "/metrics").find("a_total 1"), std::string::npos);
  // The certificate is for localhost, not for another name.
  TlsClientOptions wrong_name{pki->ca_certificate};
  wrong_name.server_name = "metrics.example";
  EXPECT_EQ(HttpsRequest(port, "/metrics", wrong_name), "");
}

TEST(MetricsHttpServerTest, RefusesBadTlsSettings) {
  support::TempDir dir;
  const auto pki = support::MakeDevPki(dir.path() / "pki");
  ASSERT_TRUE(pki.ok()) << pki.status().message();
  const auto other = support::MakeDevPki(dir.path() / "other");
  ASSERT_TRUE(other.ok()) << other.status().message();
  const auto render = [] { return std::string(); };
  const std::string cert = pki->server_certificate.string();
  const std::string key = pki->server_key.string();

  auto half = MetricsHttpServer::Start({"127.0.0.1:0", cert, ""}, render);
  ASSERT_FALSE(half.ok());
  EXPECT_EQ(half.status().code(), base::StatusCode::kInvalidArgument);

  auto missing = MetricsHttpServer::Start({"127.0.0.1:0", cert, key + ".missing"}, render);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), base::StatusCode::kNotFound);

  // Another PKI's key does not match this certificate.
  auto mismatched =
      MetricsHttpServer::Start({"127.0.0.1:0", cert, other->server_key.string()}, render);
  ASSERT_FALSE(mismatched.ok());
  EXPECT_EQ(mismatched.status().code(), base::StatusCode::kUnavailable);

  fs::permissions(key, fs::perms::group_read | fs::perms::others_read, fs::perm_options::add);
  auto loose = MetricsHttpServer::Start({"127.0.0.1:0", cert, key}, render);
  ASSERT_FALSE(loose.ok());
  EXPECT_EQ(loose.status().code(), base::StatusCode::kInvalidArgument);
}

// WaitFor polls `done` until it holds or five seconds pass; background refreshes need no sleeps of
// a guessed length.
template <typename Done>
bool WaitFor(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

TEST(MeteredCustodyTest, AScrapeNeverCallsTheCustody) {
  auto created = SignerMetrics::Create();
  ASSERT_TRUE(created.ok());
  SignerMetrics& metrics = **created;
  keymgr::InMemoryCustody inner;
  MeteredCustody custody(inner, metrics);
  // An hour: only the first listing and the change below can refresh within this test.
  custody.StartRefreshingKeysLoaded(std::chrono::hours(1));
  ASSERT_TRUE(WaitFor([&] { return custody.keys_loaded_refreshes() >= 1; }));

  const auto gran = *base::MakeKeyTypeId("gran");
  ASSERT_TRUE(custody.Generate(gran, base::Scheme::kEd25519).ok());
  // The change reaches the gauge through the refresh thread, not through a scrape.
  ASSERT_TRUE(WaitFor([&] { return custody.keys_loaded_refreshes() >= 2; }));
  const size_t lists = inner.CallCount(keymgr::CustodyOp::kList);

  auto server =
      MetricsHttpServer::Start(Plain("127.0.0.1:0"), [&metrics] { return metrics.Render(); });
  ASSERT_TRUE(server.ok()) << server.status().message();
  for (int scrape = 0; scrape < 5; ++scrape) {
    const std::string text = BodyOf(HttpRequest((*server)->port(), "GET", "/metrics"));
    EXPECT_EQ(SampleValue(text, "signer_keys_loaded{key_type=\"gran\"}"), 1) << text;
  }
  EXPECT_EQ(inner.CallCount(keymgr::CustodyOp::kList), lists);
}

TEST(MeteredCustodyTest, PeriodicRefreshSeesKeysChangedElsewhere) {
  auto created = SignerMetrics::Create();
  ASSERT_TRUE(created.ok());
  SignerMetrics& metrics = **created;
  keymgr::InMemoryCustody inner;
  MeteredCustody custody(inner, metrics);
  custody.StartRefreshingKeysLoaded(std::chrono::milliseconds(10));
  // Straight into the token, as another process would: the decorator never sees it.
  ASSERT_TRUE(inner.Generate(*base::MakeKeyTypeId("babe"), base::Scheme::kSr25519).ok());
  EXPECT_TRUE(WaitFor(
      [&] { return SampleValue(metrics.Render(), "signer_keys_loaded{key_type=\"babe\"}") == 1; }));

  // A failed listing is an HSM error and keeps the last figures; the next interval retries.
  inner.SetUnavailable(true);
  EXPECT_TRUE(WaitFor([&] {
    return SampleValue(metrics.Render(), "signer_hsm_errors_total{operation=\"list\"}") >= 1;
  }));
  EXPECT_EQ(SampleValue(metrics.Render(), "signer_keys_loaded{key_type=\"babe\"}"), 1);
  inner.SetUnavailable(false);
  const uint64_t before = custody.keys_loaded_refreshes();
  EXPECT_TRUE(WaitFor([&] { return custody.keys_loaded_refreshes() > before; }));
}

TEST(MonitoringRulesTest, AlertsAndScrapeConfigPassPromtool) {
  if (!fs::exists(kPromtool)) {
    GTEST_SKIP() << "promtool is not installed (Debian package prometheus)";
  }
  const std::optional<fs::path> root = RepoRoot();
  ASSERT_TRUE(root.has_value()) << "cannot find the source tree from " << __FILE__;
  const fs::path monitoring = *root / "infra" / "monitoring";
  std::string output;
  EXPECT_EQ(
      RunPromtool({"check", "rules", (monitoring / "alerts.yml").string()}, std::nullopt, output),
      0)
      << output;
  EXPECT_EQ(RunPromtool({"check", "config", (monitoring / "prometheus.yml").string()}, std::nullopt,
                        output),
            0)
      << output;
  // Unit tests of the alerts themselves (series in, expected alerts out).
  EXPECT_EQ(RunPromtool({"test", "rules", (monitoring / "alerts_test.yml").string()}, std::nullopt,
                        output),
            0)
      << output;
}

}  // namespace
}  // namespace signer
