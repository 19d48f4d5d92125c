// signerd's metric set checked by promtool, the custody and audit decorators, and the monitoring
// rules in infra/monitoring.
#include "signerd/metrics.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
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

#include "keymgr/keypair.h"
#include "metrics/http_server.h"
#include "support/dev_pki.h"
#include "support/in_memory_custody.h"
#include "support/loopback.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace signer {
namespace {

namespace fs = std::filesystem;

constexpr char kPromtool[] = "/usr/bin/promtool";

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

// Plain is a listener without TLS on `listen`.
MetricsListenerOptions Plain(std::string listen) {
  MetricsListenerOptions options;
  options.listen = std::move(listen);
  return options;
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
  EXPECT_EQ(
      support::PrometheusSample(text, "signer_requests_total{method=\"SignWith\",code=\"OK\"}"), 1);
  EXPECT_EQ(support::PrometheusSample(
                text, "signer_requests_total{method=\"SignWith\",code=\"RESOURCE_EXHAUSTED\"}"),
            1);
  EXPECT_EQ(
      support::PrometheusSample(text, "signer_request_duration_seconds_count{method=\"SignWith\"}"),
      3);
  EXPECT_EQ(support::PrometheusSample(text, "signer_requests_shed_total{method=\"SignWith\"}"), 1);
  EXPECT_EQ(support::PrometheusSample(text, "signer_requests_in_flight"), 7);
  EXPECT_EQ(support::PrometheusSample(text,
                                      "signer_decisions_total{domain=\"grandpa_prevote\",verdict="
                                      "\"refused_grandpa_equivocation\"}"),
            1);
  EXPECT_EQ(support::PrometheusSample(
                text, "signer_decisions_total{domain=\"none\",verdict=\"allowed_unprotected\"}"),
            1);
  EXPECT_EQ(
      support::PrometheusSample(text, "signer_decisions_total{domain=\"babe\",verdict=\"error\"}"),
      1);
  EXPECT_EQ(support::PrometheusSample(
                text, "signer_decision_duration_seconds_count{domain=\"grandpa_prevote\"}"),
            2);
  EXPECT_EQ(support::PrometheusSample(text, "signer_hsm_errors_total{operation=\"sign\"}"), 1);
  EXPECT_EQ(support::PrometheusSample(text, "signer_hsm_errors_total{operation=\"list\"}"), 0);
  EXPECT_EQ(support::PrometheusSample(text, "signer_audit_write_failures_total"), 1);
  EXPECT_EQ(support::PrometheusSample(text, "signer_keys_loaded{key_type=\"gran\"}"), 1);
  EXPECT_EQ(support::PrometheusSample(text, "signer_keys_loaded{key_type=\"other\"}"), 1);
  EXPECT_EQ(text.find("zzzz"), std::string::npos);
  const auto server_expiry = support::PrometheusSample(
      text, "signer_tls_certificate_expiry_seconds{certificate=\"server\"}");
  ASSERT_TRUE(server_expiry.has_value());
  EXPECT_NEAR(*server_expiry, 30 * 86400.0, 60);
  EXPECT_EQ(support::PrometheusSample(text, "signer_replicated"), 1);
  EXPECT_EQ(support::PrometheusSample(text, "signer_replication_consumer_lag"), 4);
  EXPECT_EQ(support::PrometheusSample(text, "signer_replication_claims_produced_total"), 10);
  EXPECT_EQ(support::PrometheusSample(text, "signer_replication_claims_total{outcome=\"won\"}"), 8);
  EXPECT_EQ(
      support::PrometheusSample(text, "signer_replication_claims_total{outcome=\"timed_out\"}"), 1);
  EXPECT_EQ(support::PrometheusSample(text, "signer_replication_records_applied_total"), 25);
  EXPECT_EQ(support::PrometheusSample(text, "signer_audit_stream_records_total{result=\"failed\"}"),
            2);
  EXPECT_EQ(support::PrometheusSample(
                text, "signer_replication_claim_round_trip_seconds_bucket{le=\"0.025\"}"),
            1);
  EXPECT_EQ(support::PrometheusSample(
                text, "signer_replication_claim_round_trip_seconds_bucket{le=\"0.01\"}"),
            0);
}

TEST(SignerMetricsTest, KeysLoadedDropsToZeroForAKeyTypeNoLongerHeld) {
  auto created = SignerMetrics::Create();
  ASSERT_TRUE(created.ok());
  std::vector<keymgr::KeyInfo> keys(2);
  keys[0].id.key_type = *base::MakeKeyTypeId("gran");
  keys[1].id.key_type = *base::MakeKeyTypeId("gran");
  (*created)->SetKeysLoaded(keys);
  EXPECT_EQ(
      support::PrometheusSample((*created)->Render(), "signer_keys_loaded{key_type=\"gran\"}"), 2);
  (*created)->SetKeysLoaded({});
  EXPECT_EQ(
      support::PrometheusSample((*created)->Render(), "signer_keys_loaded{key_type=\"gran\"}"), 0);
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
  EXPECT_EQ(support::PrometheusSample(text, "signer_keys_loaded{key_type=\"gran\"}"), 1);

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
  EXPECT_EQ(support::PrometheusSample(text, "signer_hsm_errors_total{operation=\"sign\"}"), 2);

  ASSERT_TRUE(custody.Delete(id).ok());
  custody.RefreshKeysLoaded();
  EXPECT_EQ(support::PrometheusSample(metrics.Render(), "signer_keys_loaded{key_type=\"gran\"}"),
            0);
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
  EXPECT_EQ(support::PrometheusSample((*created)->Render(), "signer_audit_write_failures_total"),
            1);
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
    const std::string text = support::HttpBody(HttpRequest((*server)->port(), "GET", "/metrics"));
    EXPECT_EQ(support::PrometheusSample(text, "signer_keys_loaded{key_type=\"gran\"}"), 1) << text;
  }
  EXPECT_EQ(inner.CallCount(keymgr::CustodyOp::kList), lists);
}

TEST(MeteredCustodyTest, ThePeriodicListingBacksOffOnALargeToken) {
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  struct Case {
    milliseconds interval;
    std::chrono::nanoseconds listing_took;
    milliseconds pause;
  };
  const Case cases[] = {
      {seconds(30), std::chrono::nanoseconds(0), seconds(30)},
      {seconds(30), milliseconds(2), seconds(30)},      // the dev keys
      {seconds(30), milliseconds(1'500), seconds(30)},  // exactly a twentieth
      {seconds(30), milliseconds(1'501), milliseconds(30'020)},
      {seconds(30), seconds(10), seconds(200)},  // 100,000 keys on SoftHSM2
      {milliseconds(10), std::chrono::microseconds(1), milliseconds(10)},
      {milliseconds(10), std::chrono::nanoseconds(1), milliseconds(10)},
      {milliseconds(0), std::chrono::nanoseconds(1), milliseconds(1)},  // rounded up, never 0
  };
  for (const Case& c : cases) {
    EXPECT_EQ(KeysListingPause(c.interval, c.listing_took), c.pause)
        << c.interval.count() << " ms interval, listing " << c.listing_took.count() << " ns";
  }
}

TEST(MeteredCustodyTest, TheRefreshThreadPausesLongerAfterASlowListing) {
  auto created = SignerMetrics::Create();
  ASSERT_TRUE(created.ok());
  keymgr::InMemoryCustody inner;
  inner.SetListingDelay(std::chrono::milliseconds(20));
  MeteredCustody custody(inner, **created);
  custody.StartRefreshingKeysLoaded(std::chrono::milliseconds(1));
  ASSERT_TRUE(WaitFor([&] { return custody.keys_listing_pause().count() > 0; }));
  // At least twenty times the 20 ms listing, not the 1 ms interval.
  EXPECT_GE(custody.keys_listing_pause(), std::chrono::milliseconds(400));
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
  EXPECT_TRUE(WaitFor([&] {
    return support::PrometheusSample(metrics.Render(), "signer_keys_loaded{key_type=\"babe\"}") ==
           1;
  }));

  // A failed listing is an HSM error and keeps the last figures; the next interval retries.
  inner.SetUnavailable(true);
  EXPECT_TRUE(WaitFor([&] {
    return support::PrometheusSample(metrics.Render(),
                                     "signer_hsm_errors_total{operation=\"list\"}") >= 1;
  }));
  EXPECT_EQ(support::PrometheusSample(metrics.Render(), "signer_keys_loaded{key_type=\"babe\"}"),
            1);
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
