// The payout ledger: one synced JSON file per period under a locked directory.
#include "rpc_pool/payout_ledger.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <system_error>

#include "base/file_io.h"
#include "base/json_depth.h"

namespace rpc_pool {
namespace {

namespace fs = std::filesystem;
using base::Result;
using base::Status;
using Json = nlohmann::json;

constexpr std::string_view kFilePrefix = "period-";
constexpr std::string_view kFileSuffix = ".json";
constexpr int kFormat = 1;
// A record holds one extrinsic: a batch of a few thousand transfers at most, well under 1 MiB.
constexpr size_t kMaxRecordBytes = size_t{4} * 1024 * 1024;

bool IsHex(std::string_view text, size_t min_digits, size_t max_digits) {
  if (!text.starts_with("0x")) return false;
  text.remove_prefix(2);
  if (text.size() < min_digits || text.size() > max_digits || text.size() % 2 != 0) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string Encode(const PayoutRecord& record) {
  Json document = {{"format", kFormat},
                   {"period", record.period},
                   {"state", PayoutStateName(record.state)},
                   {"chain", record.chain},
                   {"input_digest", record.input_digest},
                   {"nonce", record.nonce},
                   {"extrinsic", record.extrinsic_hex},
                   {"tx_hash", record.tx_hash_hex}};
  return document.dump(2) + "\n";
}

Result<PayoutRecord> Decode(const std::string& text, std::string_view period) {
  const auto corrupt = [&](const std::string& why) {
    return Status::Corruption("payout ledger: the record of period " + std::string(period) + " " +
                              why);
  };
  if (!base::JsonNestingWithin(text, 2)) return corrupt("is nested too deep");
  const Json document = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded() || !document.is_object() || document.size() != 8) {
    return corrupt("is not a ledger record");
  }
  for (const char* key : {"period", "state", "chain", "input_digest", "extrinsic", "tx_hash"}) {
    if (!document.contains(key) || !document[key].is_string())
      return corrupt("lacks " + std::string(key));
  }
  if (!document.contains("format") || document["format"] != kFormat) {
    return corrupt("has an unknown format");
  }
  if (!document.contains("nonce") || !document["nonce"].is_number_unsigned() ||
      document["nonce"].get<uint64_t>() > UINT32_MAX) {
    return corrupt("has a bad nonce");
  }
  PayoutRecord record;
  record.period = document["period"].get<std::string>();
  const std::string state = document["state"].get<std::string>();
  if (state == "prepared") {
    record.state = PayoutState::kPrepared;
  } else if (state == "submitted") {
    record.state = PayoutState::kSubmitted;
  } else {
    return corrupt("has an unknown state");
  }
  record.chain = document["chain"].get<std::string>();
  record.input_digest = document["input_digest"].get<std::string>();
  record.nonce = static_cast<uint32_t>(document["nonce"].get<uint64_t>());
  record.extrinsic_hex = document["extrinsic"].get<std::string>();
  record.tx_hash_hex = document["tx_hash"].get<std::string>();
  if (record.period != period || !IsHex(record.extrinsic_hex, 2, kMaxRecordBytes) ||
      !IsHex(record.tx_hash_hex, 64, 64)) {
    return corrupt("does not hold a period's extrinsic");
  }
  return record;
}

Result<std::string> ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Unavailable("payout ledger: cannot read " + path.string());
  std::string text;
  text.resize(kMaxRecordBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return Status::Unavailable("payout ledger: cannot read " + path.string());
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxRecordBytes) {
    return Status::Corruption("payout ledger: " + path.string() + " is too large");
  }
  return text;
}

}  // namespace

bool ValidPeriodId(std::string_view period) {
  if (period.empty() || period.size() > kMaxPeriodIdLength || period.front() == '.') return false;
  for (char c : period) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string_view PayoutStateName(PayoutState state) {
  return state == PayoutState::kSubmitted ? "submitted" : "prepared";
}

Result<PayoutLedger> PayoutLedger::Open(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::Unavailable("payout ledger: cannot create " + dir.string() + ": " +
                               std::strerror(errno));
  }
  base::FileDescriptor lock(
      ::open((dir / "LOCK").c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (lock.get() < 0) {
    return Status::Unavailable("payout ledger: cannot open " + (dir / "LOCK").string() + ": " +
                               std::strerror(errno));
  }
  if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return Status::Busy("payout ledger: another payout run holds " + dir.string());
    }
    return Status::Unavailable("payout ledger: cannot lock " + dir.string());
  }
  return PayoutLedger(dir, std::move(lock));
}

fs::path PayoutLedger::PathOf(std::string_view period) const {
  return dir_ / (std::string(kFilePrefix) + std::string(period) + std::string(kFileSuffix));
}

Result<std::optional<PayoutRecord>> PayoutLedger::Find(std::string_view period) const {
  if (!ValidPeriodId(period)) {
    return Status::InvalidArgument("payout ledger: bad period id " + std::string(period));
  }
  const fs::path path = PathOf(period);
  std::error_code error;
  if (!fs::exists(path, error)) {
    if (error) return Status::Unavailable("payout ledger: cannot stat " + path.string());
    return std::optional<PayoutRecord>();
  }
  SIGNER_ASSIGN_OR_RETURN(const std::string text, ReadAll(path));
  SIGNER_ASSIGN_OR_RETURN(PayoutRecord record, Decode(text, period));
  return std::optional<PayoutRecord>(std::move(record));
}

Result<std::vector<PayoutRecord>> PayoutLedger::InFlight() const {
  std::vector<PayoutRecord> prepared;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir_, error)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(kFilePrefix) || !name.ends_with(kFileSuffix)) continue;
    const std::string period =
        name.substr(kFilePrefix.size(), name.size() - kFilePrefix.size() - kFileSuffix.size());
    SIGNER_ASSIGN_OR_RETURN(std::optional<PayoutRecord> record, Find(period));
    if (record.has_value() && record->state == PayoutState::kPrepared) {
      prepared.push_back(std::move(*record));
    }
  }
  if (error) return Status::Unavailable("payout ledger: cannot list " + dir_.string());
  return prepared;
}

base::Status PayoutLedger::Record(const PayoutRecord& record) {
  SIGNER_ASSIGN_OR_RETURN(const std::optional<PayoutRecord> existing, Find(record.period));
  if (!existing.has_value()) {
    if (record.state != PayoutState::kPrepared) {
      return Status::FailedPrecondition("payout ledger: period " + record.period +
                                        " must be prepared before it is submitted");
    }
  } else if (existing->state == PayoutState::kSubmitted) {
    return Status::FailedPrecondition("payout ledger: period " + record.period +
                                      " is already submitted");
  } else if (record.state != PayoutState::kSubmitted ||
             record.extrinsic_hex != existing->extrinsic_hex || record.nonce != existing->nonce ||
             record.input_digest != existing->input_digest) {
    return Status::FailedPrecondition("payout ledger: period " + record.period +
                                      " is prepared with other bytes; only they may be submitted");
  }
  const std::string text = Encode(record);
  return base::WriteFileAtomically(
      PathOf(record.period), {reinterpret_cast<const uint8_t*>(text.data()), text.size()}, 0600);
}

}  // namespace rpc_pool
