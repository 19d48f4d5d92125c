// signerctl audit commands: verify the hash chain of a signerd audit log (docs/signerd.md), and
// follow the Kafka audit stream while verifying every signer's chain (docs/kafka.md).
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "audit/audit_log.h"
#include "base/hex.h"
#include "ctl_command.h"
#include "kafka/audit_tail.h"

namespace signerctl {
namespace {

// RunVerify exits 0 when the whole chain verifies, kExitInvalid naming the first bad line when it
// does not, and kExitUsage when the file cannot be read.
Outcome RunVerify(const std::string& path) {
  auto report = signer::VerifyAuditFile(path);
  if (!report.ok()) {
    return Outcome::Usage(report.status().message());
  }
  nlohmann::ordered_json output;
  output["ok"] = report->ok;
  output["lines"] = report->lines;
  if (!report->ok) {
    output["first_bad_line"] = report->first_bad_line;
    output["problem"] = report->problem;
    return Outcome::Json(std::move(output), kExitInvalid);
  }
  output["last_hash"] = report->last_hash;
  return Outcome::Json(std::move(output));
}

// TailArguments are `audit tail`'s command-line values.
struct TailArguments {
  std::string brokers;
  std::string topic = "signer-audit";
  bool from_beginning = false;
  std::string key;
  uint64_t max_events = 0;
  int64_t idle_exit_ms = 0;
  int64_t reorder_window_ms = 1'000;
  std::vector<std::string> properties;  // NAME=VALUE
};

// A signal only raises this flag, so the tail can stop between records and exit with the verdict
// of everything it printed.
std::atomic<bool> tail_stop_requested{false};

extern "C" void RequestTailStop(int) { tail_stop_requested.store(true); }

void InstallTailStopHandlers() {
  struct sigaction action {};
  action.sa_handler = RequestTailStop;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

// TailLine is the JSON line printed for one event. The audit line is embedded as parsed JSON (its
// exact bytes are what the chain hashes, and are in the topic); a value that is not JSON is
// embedded as a string.
nlohmann::ordered_json TailLine(const kafka::CheckedEvent& checked) {
  nlohmann::ordered_json line;
  line["signer_id"] = checked.event.signer_id;
  line["partition"] = checked.event.partition;
  line["offset"] = checked.event.offset;
  nlohmann::ordered_json event =
      nlohmann::ordered_json::parse(checked.event.line, nullptr, /*allow_exceptions=*/false);
  if (event.is_discarded()) {
    event = checked.event.line;
  }
  line["event"] = std::move(event);
  line["chain"] = std::string(kafka::ChainStatusName(checked.chain));
  if (!checked.problem.empty()) {
    line["problem"] = checked.problem;
  }
  return line;
}

// RunTail prints each event as it is verified, exits kExitOk when every chain it saw was intact,
// kExitInvalid after a gap or a broken chain, kExitUsage on bad arguments or an unreachable topic.
Outcome RunTail(const TailArguments& arguments) {
  kafka::AuditTailOptions options;
  options.brokers = arguments.brokers;
  options.topic = arguments.topic;
  options.from_beginning = arguments.from_beginning;
  options.max_events = arguments.max_events;
  options.idle_exit_ms = arguments.idle_exit_ms;
  options.checker.reorder_window = std::chrono::milliseconds(arguments.reorder_window_ms);
  if (!arguments.key.empty()) {
    // Record keys are lower-case hex without a prefix, as the audit log writes public keys.
    auto key = DecodeHexArgument("--key", arguments.key);
    if (!key.ok()) {
      return Outcome::Usage(key.status().message());
    }
    options.key = base::HexEncode(*key);
  }
  for (const std::string& property : arguments.properties) {
    const size_t equals = property.find('=');
    if (equals == std::string::npos || equals == 0) {
      return Outcome::Usage("--property takes NAME=VALUE");
    }
    options.properties.emplace_back(property.substr(0, equals), property.substr(equals + 1));
  }
  options.warning = [](std::string_view message) {
    std::cerr << "signerctl: warning: " << message << std::endl;
  };
  InstallTailStopHandlers();
  auto summary = kafka::RunAuditTail(
      options,
      [](const kafka::CheckedEvent& checked) {
        // One line per event, flushed at once: the reader may be a pipe following a live stream.
        std::cout << TailLine(checked).dump(-1, ' ', false,
                                            nlohmann::ordered_json::error_handler_t::replace)
                  << std::endl;
      },
      &tail_stop_requested);
  if (!summary.ok()) {
    return Outcome::Usage(summary.status().message());
  }
  if (!summary->intact()) {
    return Outcome{kExitInvalid, nullptr,
                   "audit chain not intact: " + std::to_string(summary->gaps) + " gap(s), " +
                       std::to_string(summary->broken) + " broken event(s) among " +
                       std::to_string(summary->verified) + " verified"};
  }
  return Outcome{kExitOk, nullptr, {}};
}

}  // namespace

void RegisterAuditCommands(CLI::App& app, CommandTable& table) {
  CLI::App* audit = app.add_subcommand("audit", "signerd's hash-chained audit log");
  audit->require_subcommand(1);
  auto path = std::make_shared<std::string>();
  CLI::App* verify = audit->add_subcommand(
      "verify", "check the hash chain of an audit log and report the first bad line");
  verify->add_option("file", *path, "audit log (JSON lines)")->required();
  table.Add(verify, [path] { return RunVerify(*path); });

  auto tail_arguments = std::make_shared<TailArguments>();
  CLI::App* tail = audit->add_subcommand(
      "tail",
      "follow the Kafka audit stream, verifying each signer's hash chain; prints one JSON line per "
      "event; exit 0 if every chain stayed intact, 1 after a gap or a broken chain, 2 on bad "
      "input");
  tail->add_option("--brokers", tail_arguments->brokers, "Kafka bootstrap servers HOST:PORT,...")
      ->required();
  tail->add_option("--topic", tail_arguments->topic, "audit topic")->capture_default_str();
  tail->add_flag(
      "--from-beginning", tail_arguments->from_beginning,
      "read the whole topic (every chain must start at seq 0); default: only new events");
  tail->add_option("--key", tail_arguments->key,
                   "print only events of this public key (hex); all events are still verified");
  tail->add_option("--max-events", tail_arguments->max_events,
                   "stop after printing this many events (0: no limit)");
  tail->add_option("--idle-exit-ms", tail_arguments->idle_exit_ms,
                   "stop once every partition was read to its end and no event arrived for "
                   "this long (0: never)")
      ->check(CLI::NonNegativeNumber);
  tail->add_option("--reorder-window-ms", tail_arguments->reorder_window_ms,
                   "how long an out-of-order event waits for the ones before it before a gap is "
                   "reported")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  tail->add_option("--property", tail_arguments->properties,
                   "extra librdkafka consumer property NAME=VALUE (TLS, SASL); repeatable");
  table.Add(tail, [tail_arguments] { return RunTail(*tail_arguments); });
}

}  // namespace signerctl
