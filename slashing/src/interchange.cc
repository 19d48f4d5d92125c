// Interchange JSON: strict parsing, canonical serialisation, export and merging import.
#include "slashing/interchange.h"

#include "base/json_depth.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "slashing/history.h"
#include "slashing/record.h"

namespace slashing {
namespace {

using Json = nlohmann::json;

// kMaxJsonDepth bounds nesting before the JSON library sees the text; our format needs 6 levels.
constexpr int kMaxJsonDepth = 16;

base::Status Invalid(const std::string& what) {
  return base::Status::InvalidArgument("interchange: " + what);
}

std::string ToHex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "0x";
  for (uint8_t byte : bytes) {
    out.push_back(kDigits[byte >> 4]);
    out.push_back(kDigits[byte & 15]);
  }
  return out;
}

std::optional<std::vector<uint8_t>> FromHex(const Json& value, size_t min_size, size_t max_size) {
  if (!value.is_string()) return std::nullopt;
  const std::string& text = value.get_ref<const std::string&>();
  if (text.size() < 2 || text[0] != '0' || text[1] != 'x' || text.size() % 2 != 0) {
    return std::nullopt;
  }
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::vector<uint8_t> out;
  for (size_t i = 2; i < text.size(); i += 2) {
    const int high = nibble(text[i]);
    const int low = nibble(text[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<uint8_t>((high << 4) | low));
  }
  if (out.size() < min_size || out.size() > max_size) return std::nullopt;
  return out;
}

// FromDecimal parses a canonical decimal string (no sign, no leading zeros) up to `max`.
std::optional<uint64_t> FromDecimal(const Json& value, uint64_t max = UINT64_MAX) {
  if (!value.is_string()) return std::nullopt;
  const std::string& text = value.get_ref<const std::string&>();
  if (text.empty() || text.size() > 20 || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  uint64_t parsed = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), parsed);
  if (error != std::errc() || end != text.data() + text.size() || parsed > max) {
    return std::nullopt;
  }
  return parsed;
}

std::string Decimal(uint64_t value) { return std::to_string(value); }

// OnlyFields checks that `object` is an object with exactly the required fields plus any of the
// optional ones.
bool OnlyFields(const Json& object, std::initializer_list<std::string_view> required,
                std::initializer_list<std::string_view> optional = {}) {
  if (!object.is_object()) return false;
  for (std::string_view field : required) {
    if (!object.contains(field)) return false;
  }
  for (auto it = object.begin(); it != object.end(); ++it) {
    const std::string& key = it.key();
    auto known = [&](std::initializer_list<std::string_view> list) {
      return std::find(list.begin(), list.end(), key) != list.end();
    };
    if (!known(required) && !known(optional)) return false;
  }
  return true;
}

// Per-domain position field names: the file says what each number means.
struct PositionFields {
  std::string_view major;
  std::string_view minor;  // empty for single-number domains
  uint64_t major_max;
  uint64_t minor_max;
};

PositionFields FieldsFor(Domain domain) {
  switch (domain) {
    case Domain::kBabe:
      return {"slot", "", UINT64_MAX, 0};
    case Domain::kGrandpaPrevote:
    case Domain::kGrandpaPrecommit:
      return {"set_id", "round", UINT64_MAX, UINT64_MAX};
    case Domain::kBeefy:
      return {"validator_set_id", "block_number", UINT64_MAX, UINT32_MAX};
    case Domain::kDispute:
      return {"session", "", UINT32_MAX, 0};
  }
  return {"", "", 0, 0};
}

Json WatermarkJson(Domain domain, const Watermark& watermark) {
  const PositionFields fields = FieldsFor(domain);
  Json out = Json::object();
  out[std::string(fields.major)] = Decimal(watermark.major);
  if (!fields.minor.empty()) out[std::string(fields.minor)] = Decimal(watermark.minor);
  return out;
}

Json RecordJson(Domain domain, const InterchangeRecord& record) {
  const PositionFields fields = FieldsFor(domain);
  Json out = Json::object();
  out[std::string(fields.major)] = Decimal(record.position.major);
  if (!fields.minor.empty()) out[std::string(fields.minor)] = Decimal(record.position.minor);
  if (domain == Domain::kDispute) out["candidate_hash"] = ToHex(record.position.candidate);
  Json digests = Json::array();
  for (const auto& digest : record.digests) digests.push_back(ToHex(digest));
  out["digests"] = std::move(digests);
  out["recorded_at_ms"] = Decimal(record.recorded_at_ms);
  return out;
}

std::optional<Watermark> ParseWatermark(Domain domain, const Json& value) {
  const PositionFields fields = FieldsFor(domain);
  const bool has_minor = !fields.minor.empty();
  if (has_minor ? !OnlyFields(value, {fields.major, fields.minor})
                : !OnlyFields(value, {fields.major})) {
    return std::nullopt;
  }
  auto major = FromDecimal(value[std::string(fields.major)], fields.major_max);
  std::optional<uint64_t> minor = 0;
  if (has_minor) minor = FromDecimal(value[std::string(fields.minor)], fields.minor_max);
  if (!major || !minor) return std::nullopt;
  return Watermark{*major, *minor};
}

std::optional<InterchangeRecord> ParseRecord(Domain domain, const Json& value) {
  const PositionFields fields = FieldsFor(domain);
  std::vector<std::string_view> required = {fields.major, "digests", "recorded_at_ms"};
  bool shape_ok = false;
  if (domain == Domain::kDispute) {
    shape_ok = OnlyFields(value, {fields.major, "candidate_hash", "digests", "recorded_at_ms"});
  } else if (!fields.minor.empty()) {
    shape_ok = OnlyFields(value, {fields.major, fields.minor, "digests", "recorded_at_ms"});
  } else {
    shape_ok = OnlyFields(value, {fields.major, "digests", "recorded_at_ms"});
  }
  if (!shape_ok) return std::nullopt;
  InterchangeRecord record;
  auto major = FromDecimal(value[std::string(fields.major)], fields.major_max);
  auto recorded_at = FromDecimal(value["recorded_at_ms"]);
  if (!major || !recorded_at) return std::nullopt;
  record.position.major = *major;
  record.recorded_at_ms = *recorded_at;
  if (!fields.minor.empty()) {
    auto minor = FromDecimal(value[std::string(fields.minor)], fields.minor_max);
    if (!minor) return std::nullopt;
    record.position.minor = *minor;
  }
  if (domain == Domain::kDispute) {
    auto candidate = FromHex(value["candidate_hash"], 32, 32);
    if (!candidate) return std::nullopt;
    std::copy(candidate->begin(), candidate->end(), record.position.candidate.begin());
  }
  const Json& digests = value["digests"];
  if (!digests.is_array() || digests.empty() || digests.size() > kMaxDigestsPerRecord) {
    return std::nullopt;
  }
  for (const Json& digest_json : digests) {
    auto digest = FromHex(digest_json, 1, kMaxDigestSize);
    if (!digest) return std::nullopt;
    if (std::find(record.digests.begin(), record.digests.end(), *digest) != record.digests.end()) {
      return std::nullopt;
    }
    record.digests.push_back(std::move(*digest));
  }
  return record;
}

base::Result<Interchange> ParseParsed(const Json& root) {
  if (!OnlyFields(root, {"metadata", "data"})) return Invalid("top level needs metadata and data");
  const Json& metadata = root["metadata"];
  if (!OnlyFields(metadata, {"interchange_format", "interchange_format_version", "genesis_hash"})) {
    return Invalid("metadata fields");
  }
  if (metadata["interchange_format"] != kInterchangeFormat) return Invalid("unknown format");
  if (metadata["interchange_format_version"] != kInterchangeVersion) {
    return Invalid("unsupported format version");
  }
  Interchange interchange;
  auto genesis = FromHex(metadata["genesis_hash"], 32, 32);
  if (!genesis) return Invalid("genesis_hash must be 32 bytes of 0x-hex");
  std::copy(genesis->begin(), genesis->end(), interchange.genesis_hash.begin());

  const Json& data = root["data"];
  if (!data.is_array()) return Invalid("data must be an array");
  std::set<std::vector<uint8_t>> seen_keys;
  for (const Json& entry : data) {
    if (!OnlyFields(entry, {"public_key", "domains"})) return Invalid("key entry fields");
    InterchangeKey key;
    auto public_key = FromHex(entry["public_key"], 1, kMaxPublicKeySize);
    if (!public_key) return Invalid("public_key");
    if (!seen_keys.insert(*public_key).second) return Invalid("duplicate public_key");
    key.public_key = std::move(*public_key);
    const Json& domains = entry["domains"];
    if (!domains.is_array()) return Invalid("domains must be an array");
    std::set<Domain> seen_domains;
    for (const Json& domain_json : domains) {
      if (!OnlyFields(domain_json, {"domain", "records"}, {"watermark"})) {
        return Invalid("domain entry fields");
      }
      const Json& name = domain_json["domain"];
      std::optional<Domain> domain;
      if (name.is_string()) domain = DomainFromName(name.get_ref<const std::string&>());
      if (!domain) return Invalid("unknown domain");
      if (!seen_domains.insert(*domain).second) return Invalid("duplicate domain");
      InterchangeDomain parsed;
      parsed.domain = *domain;
      if (domain_json.contains("watermark")) {
        parsed.watermark = ParseWatermark(*domain, domain_json["watermark"]);
        if (!parsed.watermark) return Invalid("watermark");
      }
      const Json& records = domain_json["records"];
      if (!records.is_array()) return Invalid("records must be an array");
      std::set<Position> seen_positions;
      for (const Json& record_json : records) {
        auto record = ParseRecord(*domain, record_json);
        if (!record) return Invalid("record");
        if (!seen_positions.insert(record->position).second) return Invalid("duplicate position");
        parsed.records.push_back(std::move(*record));
      }
      key.domains.push_back(std::move(parsed));
    }
    interchange.keys.push_back(std::move(key));
  }
  return interchange;
}

}  // namespace

base::Result<Interchange> ParseInterchange(std::string_view json) {
  if (json.size() > kMaxInterchangeSize) return Invalid("file too large");
  if (!base::JsonNestingWithin(json, kMaxJsonDepth)) return Invalid("nesting too deep");
  // The parser keeps only the last of repeated members: a second "records" or "watermark" in an
  // entry would silently replace the first and import less than the file holds.
  if (!base::JsonMembersUnique(json)) return Invalid("not valid JSON, or a member named twice");
  try {
    Json root = Json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
    if (root.is_discarded()) return Invalid("not valid JSON");
    return ParseParsed(root);
  } catch (const std::exception&) {
    // The checks above should make this unreachable; a library surprise still fails closed.
    return Invalid("malformed");
  }
}

std::string SerializeInterchange(const Interchange& interchange) {
  Json root = Json::object();
  root["metadata"] = {{"interchange_format", kInterchangeFormat},
                      {"interchange_format_version", kInterchangeVersion},
                      {"genesis_hash", ToHex(interchange.genesis_hash)}};
  Json data = Json::array();
  for (const InterchangeKey& key : interchange.keys) {
    Json domains = Json::array();
    for (const InterchangeDomain& domain : key.domains) {
      Json domain_json = Json::object();
      domain_json["domain"] = DomainName(domain.domain);
      if (domain.watermark)
        domain_json["watermark"] = WatermarkJson(domain.domain, *domain.watermark);
      Json records = Json::array();
      for (const InterchangeRecord& record : domain.records) {
        records.push_back(RecordJson(domain.domain, record));
      }
      domain_json["records"] = std::move(records);
      domains.push_back(std::move(domain_json));
    }
    data.push_back({{"public_key", ToHex(key.public_key)}, {"domains", std::move(domains)}});
  }
  root["data"] = std::move(data);
  return root.dump(2) + "\n";
}

base::Result<Interchange> ExportHistory(HistoryStore& store, const base::Hash256& genesis,
                                        const ExportWindow& window) {
  SIGNER_ASSIGN_OR_RETURN(auto bound, ReadGenesis(store));
  if (!bound.has_value() || *bound != genesis) {
    return base::Status::FailedPrecondition("history store is not bound to this genesis hash");
  }
  std::map<std::vector<uint8_t>, std::map<Domain, InterchangeDomain>> keys;
  base::Status failure;
  base::Status scanned =
      store.Scan(std::string(1, kRecordKeyTag), [&](std::string_view key, std::string_view value) {
        auto decoded_key = DecodeRecordKey(key);
        auto decoded = DecodeRecordValue(value);
        if (!decoded_key.ok() || !decoded.ok()) {
          failure = !decoded_key.ok() ? decoded_key.status() : decoded.status();
          return false;
        }
        const uint64_t at = decoded->recorded_at_ms;
        if ((window.from_ms && at < *window.from_ms) || (window.to_ms && at >= *window.to_ms)) {
          return true;
        }
        InterchangeDomain& domain = keys[decoded_key->public_key][decoded_key->domain];
        domain.domain = decoded_key->domain;
        domain.records.push_back({decoded_key->position, std::move(decoded->digests), at});
        return true;
      });
  if (!scanned.ok()) return scanned;
  if (!failure.ok()) return failure;
  scanned = store.Scan(
      std::string(1, kWatermarkKeyTag), [&](std::string_view key, std::string_view value) {
        auto decoded_key = DecodeWatermarkKey(key);
        auto decoded = DecodeWatermarkValue(value);
        if (!decoded_key.ok() || !decoded.ok()) {
          failure = base::Status::Corruption("malformed watermark entry");
          return false;
        }
        InterchangeDomain& domain = keys[decoded_key->public_key][decoded_key->domain];
        domain.domain = decoded_key->domain;
        domain.watermark = *decoded;
        return true;
      });
  if (!scanned.ok()) return scanned;
  if (!failure.ok()) return failure;

  Interchange interchange;
  interchange.genesis_hash = genesis;
  for (auto& [public_key, domains] : keys) {
    InterchangeKey key;
    key.public_key = public_key;
    for (auto& [domain, content] : domains) key.domains.push_back(std::move(content));
    interchange.keys.push_back(std::move(key));
  }
  return interchange;
}

base::Result<ImportReport> ImportHistory(HistoryStore& store, const base::Hash256& genesis,
                                         const Interchange& interchange) {
  if (interchange.genesis_hash != genesis) {
    return base::Status::FailedPrecondition("interchange file is for another genesis hash");
  }
  base::Status bound = BindGenesis(store, genesis);
  if (!bound.ok()) return bound;

  ImportReport report;
  StoreBatch batch;
  for (const InterchangeKey& key : interchange.keys) {
    if (key.public_key.empty() || key.public_key.size() > kMaxPublicKeySize) {
      return base::Status::InvalidArgument("interchange: public key size out of range");
    }
    for (const InterchangeDomain& domain : key.domains) {
      SIGNER_ASSIGN_OR_RETURN(auto current, ReadWatermark(store, key.public_key, domain.domain));
      std::optional<Watermark> merged = current;
      if (domain.watermark && (!merged || *merged < *domain.watermark)) {
        merged = domain.watermark;
        batch.push_back(
            {EncodeWatermarkKey(key.public_key, domain.domain), EncodeWatermarkValue(*merged)});
        ++report.watermarks_raised;
      }
      for (const InterchangeRecord& record : domain.records) {
        if (merged && IsBelow(record.position, *merged)) {
          ++report.records_below_watermark;
          continue;
        }
        const std::string record_key =
            EncodeRecordKey(RecordKey{key.public_key, domain.domain, record.position});
        SIGNER_ASSIGN_OR_RETURN(auto stored, store.Get(record_key));
        StoredRecord result{record.digests, record.recorded_at_ms};
        if (stored.has_value()) {
          SIGNER_ASSIGN_OR_RETURN(auto existing, DecodeRecordValue(*stored));
          result = std::move(existing);
          const size_t before = result.digests.size();
          for (const auto& digest : record.digests) {
            if (std::find(result.digests.begin(), result.digests.end(), digest) ==
                result.digests.end()) {
              result.digests.push_back(digest);
            }
          }
          if (result.digests.size() > kMaxDigestsPerRecord) {
            return base::Status::InvalidArgument("interchange: too many conflicting digests");
          }
          result.recorded_at_ms = std::min(result.recorded_at_ms, record.recorded_at_ms);
          if (result.conflicted()) ++report.conflicts;
          if (result.digests.size() == before) {
            ++report.records_unchanged;
            continue;
          }
        } else {
          ++report.records_added;
          if (result.conflicted()) ++report.conflicts;
        }
        batch.push_back({record_key, EncodeRecordValue(result)});
      }
    }
  }
  if (!batch.empty()) {
    base::Status written = store.WriteSynced(batch);
    if (!written.ok()) return written;
  }
  return report;
}

}  // namespace slashing
