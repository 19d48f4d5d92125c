// signerctl history commands: export, import, inspect and prune a stopped signer's protection
// history; in Kafka mode import and prune go through the claims topic to every signer.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "ctl_command.h"
#include "kafka/replicated_admin.h"
#include "signer/config.h"
#include "slashing/history.h"
#include "slashing/history_admin.h"
#include "slashing/interchange.h"
#include "slashing/rocksdb_store.h"
#include "slashing/types.h"

namespace signerctl {
namespace {

constexpr uint64_t kMillisPerSecond = 1000;

// HistoryOptions are the values every history subcommand shares.
struct HistoryOptions {
  std::string config_path;
};

// LoadedHistory is the part of the signer configuration the history commands use.
struct LoadedHistory {
  std::string data_dir;
  base::Hash256 genesis{};
  std::string signer_id;
  std::optional<signer::KafkaConfig> kafka;  // set for a replicated signer
};

Outcome HistoryError(const base::Status& status, const std::string& data_dir);

base::Result<LoadedHistory> LoadHistoryConfig(const std::string& path) {
  auto config = signer::LoadSignerConfig(path);
  if (!config.ok()) {
    return base::Status::InvalidArgument("--config: " + config.status().message());
  }
  LoadedHistory loaded;
  loaded.data_dir = config->history.data_dir;
  loaded.genesis = config->history.genesis_hash;
  loaded.signer_id = config->signer_id;
  loaded.kafka = config->kafka;
  return loaded;
}

kafka::ReplicatedAdminOptions AdminOptions(const LoadedHistory& config) {
  kafka::ReplicatedAdminOptions options;
  options.brokers = config.kafka->brokers;
  options.claims_topic = config.kafka->claims_topic;
  options.signer_id = config.signer_id;
  options.properties = config.kafka->properties;
  return options;
}

// RefuseReplicatedHistory refuses to change a replicated signer's history locally: the other
// signers would not get the change, their verdicts would drift from this one's, and this signer's
// own applier would later evaluate claims against records no log ever held. The config of such a
// signer has a kafka section (then import and prune go through the claims topic instead); this
// catches a config that lost it.
std::optional<Outcome> RefuseReplicatedHistory(const std::string& data_dir,
                                               const std::string& command) {
  std::error_code error;
  if (!std::filesystem::is_directory(data_dir, error)) return std::nullopt;
  slashing::RocksDbStoreOptions store_options;
  store_options.create_if_missing = false;
  auto store = slashing::RocksDbStore::Open(data_dir, store_options);
  if (!store.ok()) return HistoryError(store.status(), data_dir);
  auto replicated = kafka::IsReplicatedHistory(**store);
  if (!replicated.ok()) return HistoryError(replicated.status(), data_dir);
  if (!*replicated) return std::nullopt;
  return Outcome::Usage("history in " + data_dir +
                        " belongs to a replicated signer (it was built from a Kafka claims "
                        "topic): a local " +
                        command +
                        " would change this signer alone and its verdicts would drift from the "
                        "others; run it with the signer's config including its kafka section, so "
                        "it goes through the claims topic to every signer");
}

// HistoryError turns a slashing failure into the one-line message of a usage outcome. A locked
// directory gets its own wording because the operator's fix (stop the signer) is not obvious
// from RocksDB's text.
Outcome HistoryError(const base::Status& status, const std::string& data_dir) {
  if (status.code() == base::StatusCode::kBusy) {
    return Outcome::Usage("history in " + data_dir +
                          " is in use by a running signer (RocksDB LOCK held); stop it first");
  }
  return Outcome::Usage(status.message());
}

// RequireHistoryDirectory refuses a missing data directory before RocksDB sees it: opening without
// create_if_missing still leaves a directory with a LOCK file behind, which a typo in the config
// should not cause.
base::Status RequireHistoryDirectory(const std::string& data_dir) {
  std::error_code error;
  if (!std::filesystem::is_directory(data_dir, error)) {
    return base::Status::InvalidArgument("no history in " + data_dir +
                                         " (history.data_dir is not a directory)");
  }
  return base::Status::Ok();
}

bool ParseDecimal(std::string_view text, uint64_t& out) {
  if (text.empty() || (text.size() > 1 && text.front() == '0')) {
    return false;
  }
  const char* end = text.data() + text.size();
  auto [stop, error] = std::from_chars(text.data(), end, out);
  return error == std::errc() && stop == end;
}

// ParseFixedDigits reads exactly `count` ASCII digits at `at`.
bool ParseFixedDigits(std::string_view text, size_t at, size_t count, int& out) {
  if (at + count > text.size()) {
    return false;
  }
  out = 0;
  for (size_t i = at; i < at + count; ++i) {
    if (text[i] < '0' || text[i] > '9') {
      return false;
    }
    out = out * 10 + (text[i] - '0');
  }
  return true;
}

// ParseIso8601Utc accepts YYYY-MM-DD (midnight) and YYYY-MM-DDTHH:MM:SSZ. Only UTC is accepted so
// that a window never depends on the operator's time zone.
std::optional<uint64_t> ParseIso8601Utc(std::string_view text) {
  int year = 0;
  int month = 0;
  int day = 0;
  if (!ParseFixedDigits(text, 0, 4, year) || text.size() < 10 || text[4] != '-' ||
      !ParseFixedDigits(text, 5, 2, month) || text[7] != '-' ||
      !ParseFixedDigits(text, 8, 2, day)) {
    return std::nullopt;
  }
  int hour = 0;
  int minute = 0;
  int second = 0;
  if (text.size() != 10) {
    if (text.size() != 20 || text[10] != 'T' || !ParseFixedDigits(text, 11, 2, hour) ||
        text[13] != ':' || !ParseFixedDigits(text, 14, 2, minute) || text[16] != ':' ||
        !ParseFixedDigits(text, 17, 2, second) || text[19] != 'Z') {
      return std::nullopt;
    }
    if (hour > 23 || minute > 59 || second > 59) {
      return std::nullopt;
    }
  }
  const std::chrono::year_month_day date{std::chrono::year{year},
                                         std::chrono::month{static_cast<unsigned>(month)},
                                         std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok() || year < 1970) {
    return std::nullopt;
  }
  const auto days = std::chrono::sys_days{date}.time_since_epoch().count();
  return static_cast<uint64_t>(days) * 86400u + static_cast<uint64_t>(hour) * 3600u +
         static_cast<uint64_t>(minute) * 60u + static_cast<uint64_t>(second);
}

// TimeArgument parses --since/--until (unix seconds or ISO-8601 UTC) into unix milliseconds.
base::Result<uint64_t> TimeArgument(std::string_view name, std::string_view text) {
  uint64_t seconds = 0;
  std::optional<uint64_t> parsed;
  if (ParseDecimal(text, seconds)) {
    parsed = seconds;
  } else {
    parsed = ParseIso8601Utc(text);
  }
  if (!parsed.has_value() || *parsed > std::numeric_limits<uint64_t>::max() / kMillisPerSecond) {
    return base::Status::InvalidArgument(
        std::string(name) + ": expected unix seconds or ISO-8601 UTC (2024-01-31T12:00:00Z)");
  }
  return *parsed * kMillisPerSecond;
}

// PositionSyntax says how a domain's position is written on the command line and in inspect's
// output. It mirrors the interchange file's watermark fields (docs/interchange.md).
std::string_view PositionSyntax(slashing::Domain domain) {
  switch (domain) {
    case slashing::Domain::kBabe:
      return "SLOT";
    case slashing::Domain::kGrandpaPrevote:
    case slashing::Domain::kGrandpaPrecommit:
      return "SET_ID:ROUND";
    case slashing::Domain::kBeefy:
      return "SET_ID:BLOCK";
    case slashing::Domain::kDispute:
      return "SESSION";
  }
  return "";
}

// DomainHasMinor is true for the domains whose position has two numbers; babe and dispute
// watermarks keep minor at zero (types.h).
bool DomainHasMinor(slashing::Domain domain) {
  return domain == slashing::Domain::kGrandpaPrevote ||
         domain == slashing::Domain::kGrandpaPrecommit || domain == slashing::Domain::kBeefy;
}

std::string FormatPosition(slashing::Domain domain, uint64_t major, uint64_t minor) {
  if (DomainHasMinor(domain)) {
    return std::to_string(major) + ":" + std::to_string(minor);
  }
  return std::to_string(major);
}

// ParsePosition reads a watermark in the domain's syntax. BEEFY block numbers and dispute sessions
// are u32 on chain, so larger values are refused rather than silently accepted.
base::Result<slashing::Watermark> ParsePosition(slashing::Domain domain, std::string_view text) {
  const auto fail = [&] {
    return base::Status::InvalidArgument("--below: expected " +
                                         std::string(PositionSyntax(domain)) + " for domain " +
                                         std::string(slashing::DomainName(domain)));
  };
  slashing::Watermark watermark;
  if (DomainHasMinor(domain)) {
    const size_t colon = text.find(':');
    if (colon == std::string_view::npos || !ParseDecimal(text.substr(0, colon), watermark.major) ||
        !ParseDecimal(text.substr(colon + 1), watermark.minor)) {
      return fail();
    }
    if (domain == slashing::Domain::kBeefy &&
        watermark.minor > std::numeric_limits<uint32_t>::max()) {
      return fail();
    }
  } else {
    if (!ParseDecimal(text, watermark.major)) {
      return fail();
    }
    if (domain == slashing::Domain::kDispute &&
        watermark.major > std::numeric_limits<uint32_t>::max()) {
      return fail();
    }
  }
  return watermark;
}

// ReadInterchangeFile reads at most kMaxInterchangeSize bytes, growing the buffer as it goes so a
// small file never costs the maximum.
base::Result<std::string> ReadInterchangeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return base::Status::InvalidArgument("--in: cannot read " + path);
  }
  std::string text;
  std::vector<char> chunk(1 << 20);
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    text.append(chunk.data(), static_cast<size_t>(in.gcount()));
    if (text.size() > slashing::kMaxInterchangeSize) {
      return base::Status::InvalidArgument(
          "--in: file larger than " + std::to_string(slashing::kMaxInterchangeSize) + " bytes");
    }
  }
  if (in.bad()) {
    return base::Status::InvalidArgument("--in: cannot read " + path);
  }
  return text;
}

// FdCloser closes a descriptor on every return path.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  // Close reports the close error, which on some file systems is where a write error shows up.
  bool Close() {
    const int fd = fd_;
    fd_ = -1;
    return ::close(fd) == 0;
  }

 private:
  int fd_;
};

// ErrnoText uses error_code rather than strerror, which may share a static buffer across threads.
std::string ErrnoText(int error) {
  return std::error_code(error, std::generic_category()).message();
}

// PublishNoReplace moves `temp` to `target` only if `target` does not exist, atomically. renameat2
// is not supported by every file system; link() gives the same guarantee where it is not.
bool PublishNoReplace(const std::string& temp, const std::string& target, int& error) {
  if (::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) == 0) {
    return true;
  }
  if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) {
    error = errno;
    return false;
  }
  if (::link(temp.c_str(), target.c_str()) != 0) {
    error = errno;
    return false;
  }
  ::unlink(temp.c_str());
  return true;
}

// WriteFileAtomically writes `content` to a temporary file beside `path`, syncs it, renames it into
// place and syncs the directory, so `path` is either absent or complete even after a crash.
// Without `force` an existing `path` is never replaced, even one that appears meanwhile.
base::Status WriteFileAtomically(const std::string& path, std::string_view content, bool force) {
  const std::filesystem::path target(path);
  const std::filesystem::path directory =
      target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  std::string temp = (directory / ("." + target.filename().string() + ".tmp.XXXXXX")).string();
  const int fd = ::mkstemp(temp.data());
  if (fd < 0) {
    return base::Status::InvalidArgument("--out: cannot create a file in " + directory.string() +
                                         ": " + ErrnoText(errno));
  }
  FdCloser closer(fd);
  const auto fail = [&](const std::string& what, int error) {
    ::unlink(temp.c_str());
    return base::Status::InvalidArgument("--out: " + what + ": " + ErrnoText(error));
  };
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail("write failed", errno);
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    return fail("fsync failed", errno);
  }
  if (!closer.Close()) {
    return fail("close failed", errno);
  }
  if (force) {
    if (::rename(temp.c_str(), path.c_str()) != 0) {
      return fail("cannot rename into place", errno);
    }
  } else {
    int error = 0;
    if (!PublishNoReplace(temp, path, error)) {
      if (error == EEXIST) {
        ::unlink(temp.c_str());
        return base::Status::InvalidArgument("--out: " + path +
                                             " exists; pass --force to replace it");
      }
      return fail("cannot rename into place", error);
    }
  }
  const int dir_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) {
    return base::Status::InvalidArgument("--out: written but cannot sync its directory: " +
                                         ErrnoText(errno));
  }
  FdCloser dir_closer(dir_fd);
  if (::fsync(dir_fd) != 0) {
    return base::Status::InvalidArgument("--out: written but cannot sync its directory: " +
                                         ErrnoText(errno));
  }
  return base::Status::Ok();
}

uint64_t CountRecords(const slashing::Interchange& interchange) {
  uint64_t records = 0;
  for (const auto& key : interchange.keys) {
    for (const auto& domain : key.domains) {
      records += domain.records.size();
    }
  }
  return records;
}

void AddConfigOption(CLI::App* command, HistoryOptions& options) {
  command
      ->add_option("--config", options.config_path,
                   "signer configuration file (history.data_dir and history.genesis_hash)")
      ->required();
}

// ----- export -----

struct ExportOptions {
  HistoryOptions history;
  std::string out_path;
  std::string since;
  std::string until;
  bool force = false;
  CLI::Option* since_option = nullptr;
  CLI::Option* until_option = nullptr;
};

Outcome RunExport(ExportOptions& options) {
  auto config = LoadHistoryConfig(options.history.config_path);
  if (!config.ok()) {
    return Outcome::Usage(config.status().message());
  }
  slashing::ExportWindow window;
  if (options.since_option->count() > 0) {
    auto since = TimeArgument("--since", options.since);
    if (!since.ok()) {
      return Outcome::Usage(since.status().message());
    }
    window.from_ms = *since;
  }
  if (options.until_option->count() > 0) {
    auto until = TimeArgument("--until", options.until);
    if (!until.ok()) {
      return Outcome::Usage(until.status().message());
    }
    window.to_ms = *until;
  }
  if (window.from_ms && window.to_ms && *window.from_ms >= *window.to_ms) {
    return Outcome::Usage("--since must be earlier than --until");
  }
  // Checked early so a mistake costs nothing; the final rename checks again without a race.
  std::error_code ignored;
  if (!options.force && std::filesystem::exists(options.out_path, ignored)) {
    return Outcome::Usage("--out: " + options.out_path + " exists; pass --force to replace it");
  }
  if (base::Status present = RequireHistoryDirectory(config->data_dir); !present.ok()) {
    return Outcome::Usage(present.message());
  }
  auto exported = slashing::AdminExport(config->data_dir, config->genesis, window);
  if (!exported.ok()) {
    return HistoryError(exported.status(), config->data_dir);
  }
  // Reading back what was written proves the file is one import will accept.
  auto reparsed = slashing::ParseInterchange(*exported);
  if (!reparsed.ok()) {
    return Outcome::Usage("export produced an unreadable file: " + reparsed.status().message());
  }
  base::Status written = WriteFileAtomically(options.out_path, *exported, options.force);
  if (!written.ok()) {
    return Outcome::Usage(written.message());
  }
  nlohmann::ordered_json output;
  output["out"] = options.out_path;
  output["genesis_hash"] = HexWithPrefix(config->genesis);
  output["public_keys"] = reparsed->keys.size();
  output["records"] = CountRecords(*reparsed);
  if (window.from_ms) {
    output["from_ms"] = *window.from_ms;
  }
  if (window.to_ms) {
    output["to_ms"] = *window.to_ms;
  }
  // A window leaves out records that still protect positions (a backing statement before --since
  // keeps an invalid dispute vote for its candidate refused): such a file is for auditing, and a
  // signer moved with it would forget them. Said in the output, where a script reads it.
  const bool complete = !window.from_ms && !window.to_ms;
  output["complete"] = complete;
  if (!complete) {
    output["warning"] =
        "records outside the window are not in this file: do not use it to move or restore a "
        "signer's history (export without --since/--until for that)";
  }
  return Outcome::Json(std::move(output));
}

void RegisterExport(CLI::App& history, CommandTable& table) {
  auto options = std::make_shared<ExportOptions>();
  CLI::App* command = history.add_subcommand(
      "export", "write the history as an interchange file (docs/interchange.md)");
  AddConfigOption(command, options->history);
  command->add_option("--out", options->out_path, "interchange file to write")->required();
  options->since_option = command->add_option(
      "--since", options->since,
      "only records first made at or after T (unix seconds or 2024-01-31T12:00:00Z)");
  options->until_option = command->add_option("--until", options->until,
                                              "only records first made before T (same forms)");
  command->add_flag("--force", options->force, "replace --out if it exists");
  table.Add(command, [options] { return RunExport(*options); });
}

// ----- import -----

struct ImportOptions {
  HistoryOptions history;
  std::string in_path;
};

// ImportThroughClaimsTopic produces the file to the claims topic, per key on the key's partition;
// every signer merges it into its history in order with the key's claims. Signers may be running.
Outcome ImportThroughClaimsTopic(const LoadedHistory& config, const std::string& text) {
  auto parsed = slashing::ParseInterchange(text);
  if (!parsed.ok()) {
    return Outcome::Usage("--in: " + parsed.status().message());
  }
  if (parsed->genesis_hash != config.genesis) {
    return Outcome::Usage("--in: interchange file is for another genesis hash");
  }
  auto report = kafka::ProduceImport(AdminOptions(config), *parsed);
  if (!report.ok()) {
    return Outcome::Usage("import through the claims topic: " + report.status().message());
  }
  nlohmann::ordered_json output;
  output["claims_topic"] = config.kafka->claims_topic;
  output["partitions"] = report->partitions;
  output["records_produced"] = report->records_produced;
  output["public_keys"] = report->public_keys;
  output["interchange_records"] = report->interchange_records;
  return Outcome::Json(std::move(output));
}

Outcome RunImport(const ImportOptions& options) {
  auto config = LoadHistoryConfig(options.history.config_path);
  if (!config.ok()) {
    return Outcome::Usage(config.status().message());
  }
  auto text = ReadInterchangeFile(options.in_path);
  if (!text.ok()) {
    return Outcome::Usage(text.status().message());
  }
  if (config->kafka) {
    return ImportThroughClaimsTopic(*config, *text);
  }
  if (auto refused = RefuseReplicatedHistory(config->data_dir, "import")) {
    return *refused;
  }
  auto report = slashing::AdminImport(config->data_dir, config->genesis, *text);
  if (!report.ok()) {
    if (report.status().code() == base::StatusCode::kInvalidArgument) {
      return Outcome::Usage("--in: " + report.status().message());
    }
    return HistoryError(report.status(), config->data_dir);
  }
  nlohmann::ordered_json output;
  output["data_dir"] = config->data_dir;
  output["records_added"] = report->records_added;
  output["records_unchanged"] = report->records_unchanged;
  output["conflicts"] = report->conflicts;
  output["watermarks_raised"] = report->watermarks_raised;
  output["records_below_watermark"] = report->records_below_watermark;
  return Outcome::Json(std::move(output));
}

void RegisterImport(CLI::App& history, CommandTable& table) {
  auto options = std::make_shared<ImportOptions>();
  CLI::App* command = history.add_subcommand(
      "import",
      "merge an interchange file into the history (created if missing); in Kafka mode into every "
      "signer's history through the claims topic");
  AddConfigOption(command, options->history);
  command->add_option("--in", options->in_path, "interchange file to read")->required();
  table.Add(command, [options] { return RunImport(*options); });
}

// ----- inspect -----

nlohmann::ordered_json DomainCounts(const slashing::HistorySummary& summary,
                                    slashing::Domain domain) {
  const auto count = [&](const std::map<slashing::Domain, uint64_t>& counts) -> uint64_t {
    auto it = counts.find(domain);
    return it == counts.end() ? 0 : it->second;
  };
  nlohmann::ordered_json counts;
  counts["records"] = count(summary.records);
  counts["conflicted"] = count(summary.conflicted);
  counts["watermarks"] = count(summary.watermarks);
  return counts;
}

nlohmann::ordered_json KeyDomainDetail(const slashing::InterchangeDomain& domain) {
  nlohmann::ordered_json detail;
  detail["domain"] = slashing::DomainName(domain.domain);
  detail["records"] = domain.records.size();
  uint64_t conflicted = 0;
  for (const auto& record : domain.records) {
    if (record.digests.size() > 1) {
      ++conflicted;
    }
  }
  detail["conflicted"] = conflicted;
  // Records come in store order, which is position order (docs/history-format.md).
  if (!domain.records.empty()) {
    const auto& lowest = domain.records.front().position;
    const auto& highest = domain.records.back().position;
    detail["lowest"] = FormatPosition(domain.domain, lowest.major, lowest.minor);
    detail["highest"] = FormatPosition(domain.domain, highest.major, highest.minor);
  }
  if (domain.watermark) {
    detail["watermark"] =
        FormatPosition(domain.domain, domain.watermark->major, domain.watermark->minor);
  }
  return detail;
}

Outcome RunInspect(const HistoryOptions& options) {
  auto config = LoadHistoryConfig(options.config_path);
  if (!config.ok()) {
    return Outcome::Usage(config.status().message());
  }
  if (base::Status present = RequireHistoryDirectory(config->data_dir); !present.ok()) {
    return Outcome::Usage(present.message());
  }
  // One open for both walks, so no signer can start in between and change what is shown.
  slashing::RocksDbStoreOptions store_options;
  store_options.create_if_missing = false;
  auto store = slashing::RocksDbStore::Open(config->data_dir, store_options);
  if (!store.ok()) {
    return HistoryError(store.status(), config->data_dir);
  }
  auto summary = slashing::Summarize(**store);
  if (!summary.ok()) {
    return HistoryError(summary.status(), config->data_dir);
  }
  if (!summary->genesis.has_value()) {
    return Outcome::Usage("history in " + config->data_dir + " is not bound to a genesis hash");
  }
  if (*summary->genesis != config->genesis) {
    return Outcome::Usage("history in " + config->data_dir + " belongs to genesis " +
                          HexWithPrefix(*summary->genesis) + ", the config says " +
                          HexWithPrefix(config->genesis));
  }
  auto detail = slashing::ExportHistory(**store, config->genesis);
  if (!detail.ok()) {
    return HistoryError(detail.status(), config->data_dir);
  }

  nlohmann::ordered_json output;
  output["data_dir"] = config->data_dir;
  output["genesis_hash"] = HexWithPrefix(*summary->genesis);
  output["public_keys"] = summary->public_keys;
  nlohmann::ordered_json domains = nlohmann::ordered_json::object();
  for (slashing::Domain domain : slashing::kAllDomains) {
    domains[std::string(slashing::DomainName(domain))] = DomainCounts(*summary, domain);
  }
  output["domains"] = std::move(domains);
  output["oldest_recorded_at_ms"] = summary->oldest_recorded_at_ms
                                        ? nlohmann::ordered_json(*summary->oldest_recorded_at_ms)
                                        : nlohmann::ordered_json(nullptr);
  output["newest_recorded_at_ms"] = summary->newest_recorded_at_ms
                                        ? nlohmann::ordered_json(*summary->newest_recorded_at_ms)
                                        : nlohmann::ordered_json(nullptr);
  nlohmann::ordered_json keys = nlohmann::ordered_json::array();
  for (const auto& key : detail->keys) {
    nlohmann::ordered_json entry;
    entry["public_key"] = HexWithPrefix(key.public_key);
    nlohmann::ordered_json key_domains = nlohmann::ordered_json::array();
    for (const auto& domain : key.domains) {
      key_domains.push_back(KeyDomainDetail(domain));
    }
    entry["domains"] = std::move(key_domains);
    keys.push_back(std::move(entry));
  }
  output["keys"] = std::move(keys);
  return Outcome::Json(std::move(output));
}

void RegisterInspect(CLI::App& history, CommandTable& table) {
  auto options = std::make_shared<HistoryOptions>();
  CLI::App* command =
      history.add_subcommand("inspect", "summarise the history per domain and per public key");
  AddConfigOption(command, *options);
  table.Add(command, [options] { return RunInspect(*options); });
}

// ----- prune -----

struct PruneOptions {
  HistoryOptions history;
  std::string domain;
  std::string below;
};

Outcome RunPrune(const PruneOptions& options) {
  auto config = LoadHistoryConfig(options.history.config_path);
  if (!config.ok()) {
    return Outcome::Usage(config.status().message());
  }
  const std::optional<slashing::Domain> domain = slashing::DomainFromName(options.domain);
  if (!domain.has_value()) {
    return Outcome::Usage(
        "--domain: expected babe, grandpa_prevote, grandpa_precommit, beefy or dispute");
  }
  auto below = ParsePosition(*domain, options.below);
  if (!below.ok()) {
    return Outcome::Usage(below.status().message());
  }
  if (config->kafka) {
    // Every signer prunes each partition's keys at the same point of that partition's order.
    auto produced = kafka::ProducePrune(AdminOptions(*config), config->genesis, *domain, *below);
    if (!produced.ok()) {
      return Outcome::Usage("prune through the claims topic: " + produced.status().message());
    }
    nlohmann::ordered_json output;
    output["domain"] = slashing::DomainName(*domain);
    output["below"] = FormatPosition(*domain, below->major, below->minor);
    output["claims_topic"] = config->kafka->claims_topic;
    output["partitions"] = produced->partitions;
    output["records_produced"] = produced->records_produced;
    return Outcome::Json(std::move(output));
  }
  if (base::Status present = RequireHistoryDirectory(config->data_dir); !present.ok()) {
    return Outcome::Usage(present.message());
  }
  if (auto refused = RefuseReplicatedHistory(config->data_dir, "prune")) {
    return *refused;
  }
  auto report = slashing::AdminPrune(config->data_dir, config->genesis, *domain, *below);
  if (!report.ok()) {
    return HistoryError(report.status(), config->data_dir);
  }
  nlohmann::ordered_json output;
  output["domain"] = slashing::DomainName(*domain);
  output["below"] = FormatPosition(*domain, below->major, below->minor);
  output["keys"] = report->keys;
  output["records_deleted"] = report->records_deleted;
  return Outcome::Json(std::move(output));
}

void RegisterPrune(CLI::App& history, CommandTable& table) {
  auto options = std::make_shared<PruneOptions>();
  CLI::App* command = history.add_subcommand(
      "prune",
      "raise one domain's watermark of every key and delete the records below it; in Kafka mode "
      "on every signer through the claims topic");
  AddConfigOption(command, options->history);
  command
      ->add_option("--domain", options->domain,
                   "babe, grandpa_prevote, grandpa_precommit, beefy or dispute")
      ->required();
  command
      ->add_option("--below", options->below,
                   "lowest position still accepted: SLOT (babe), SET_ID:ROUND (grandpa_*), "
                   "SET_ID:BLOCK (beefy), SESSION (dispute)")
      ->required();
  table.Add(command, [options] { return RunPrune(*options); });
}

}  // namespace

void RegisterHistoryCommands(CLI::App& app, CommandTable& table) {
  CLI::App* history = app.add_subcommand(
      "history",
      "slashing-protection history of a stopped signer (refused while a signer holds it); with a "
      "kafka section in the config, import and prune go through the claims topic to every signer");
  history->require_subcommand(1);
  RegisterExport(*history, table);
  RegisterImport(*history, table);
  RegisterInspect(*history, table);
  RegisterPrune(*history, table);
}

}  // namespace signerctl
