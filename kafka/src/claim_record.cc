// ClaimRecord codec: big-endian fields, length-prefixed variable parts, strict bounds.
#include "kafka/claim_record.h"

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <optional>

#include "big_endian.h"
#include "slashing/record.h"

namespace kafka {
namespace {

void PutBytes(std::string& out, std::span<const uint8_t> bytes) {
  out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// Reader walks the bytes; every getter fails once the input is exhausted.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  // Read reads one big-endian T; nullopt once fewer than sizeof(T) bytes are left.
  template <std::unsigned_integral T>
  std::optional<T> Read() {
    if (bytes_.size() < sizeof(T)) return std::nullopt;
    const T value = LoadBigEndian<T>(bytes_);
    bytes_ = bytes_.subspan(sizeof(T));
    return value;
  }
  std::optional<std::span<const uint8_t>> Bytes(size_t size) {
    if (bytes_.size() < size) return std::nullopt;
    auto out = bytes_.first(size);
    bytes_ = bytes_.subspan(size);
    return out;
  }
  bool done() const { return bytes_.empty(); }

 private:
  std::span<const uint8_t> bytes_;
};

base::Status Malformed(const char* what) {
  return base::Status::InvalidArgument(std::string("claim record: ") + what);
}

// PositionShapeChecker tells whether the history store can hold a claim of one public key at its
// position. The store's key encoding takes a candidate hash only in the dispute domain and a minor
// part only in the GRANDPA and BEEFY domains; any other key reads back as corrupt
// (slashing::DecodeRecordKey, slashing/src/record.cc), and a prune that meets it fails on every
// signer alike, stopping every applier. The store's own decoder is asked, so the two rules cannot
// drift apart.
class PositionShapeChecker {
 public:
  explicit PositionShapeChecker(std::span<const uint8_t> public_key)
      : key_{{public_key.begin(), public_key.end()}, slashing::Domain::kBabe, {}} {}

  bool Fits(const slashing::Claim& claim) {
    key_.domain = claim.domain;
    key_.position = claim.position;
    return slashing::DecodeRecordKey(slashing::EncodeRecordKey(key_)).ok();
  }

 private:
  slashing::RecordKey key_;
};

// The fields every record of the claims topic carries after its public key (if any): the chain,
// who produced it, its request id and the producer's clock.
struct Provenance {
  base::Hash256* genesis_hash;
  std::string* signer_id;
  RequestId* request_id;
  uint64_t* time_unix_ms;
};

void PutProvenance(std::string& out, const base::Hash256& genesis_hash,
                   const std::string& signer_id, const RequestId& request_id,
                   uint64_t time_unix_ms) {
  PutBytes(out, genesis_hash);
  AppendBigEndian<uint8_t>(out, static_cast<uint8_t>(signer_id.size()));
  out.append(signer_id);
  PutBytes(out, request_id);
  AppendBigEndian<uint64_t>(out, time_unix_ms);
}

base::Status ReadProvenance(Reader& reader, const Provenance& out) {
  auto genesis = reader.Bytes(out.genesis_hash->size());
  if (!genesis) return Malformed("truncated genesis hash");
  std::copy(genesis->begin(), genesis->end(), out.genesis_hash->begin());
  auto signer_size = reader.Read<uint8_t>();
  if (!signer_size || *signer_size > kMaxSignerIdSize) return Malformed("signer id size");
  auto signer = reader.Bytes(*signer_size);
  if (!signer) return Malformed("truncated signer id");
  out.signer_id->assign(signer->begin(), signer->end());
  auto request_id = reader.Bytes(out.request_id->size());
  if (!request_id) return Malformed("truncated request id");
  std::copy(request_id->begin(), request_id->end(), out.request_id->begin());
  auto time = reader.Read<uint64_t>();
  if (!time) return Malformed("truncated time");
  *out.time_unix_ms = *time;
  return base::Status::Ok();
}

// ReadVersionTwoKind reads the version and kind bytes and refuses any other kind than `kind`.
base::Status ReadVersionTwoKind(Reader& reader, uint8_t kind) {
  auto version = reader.Read<uint8_t>();
  if (!version) return Malformed("empty");
  if (*version != kClaimRecordVersion2) return Malformed("unknown format version");
  auto found = reader.Read<uint8_t>();
  if (!found) return Malformed("truncated kind");
  if (*found != kind) return Malformed("unexpected record kind");
  return base::Status::Ok();
}

}  // namespace

ClaimsTopicRecordKind PeekClaimsTopicRecordKind(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return ClaimsTopicRecordKind::kUnknown;
  if (bytes[0] == kClaimRecordVersion1) return ClaimsTopicRecordKind::kClaims;
  if (bytes[0] != kClaimRecordVersion2 || bytes.size() < 2) return ClaimsTopicRecordKind::kUnknown;
  switch (bytes[1]) {
    case kClaimRecordKindClaims:
      return ClaimsTopicRecordKind::kClaims;
    case kClaimRecordKindImport:
      return ClaimsTopicRecordKind::kImport;
    case kClaimRecordKindPrune:
      return ClaimsTopicRecordKind::kPrune;
    default:
      return ClaimsTopicRecordKind::kUnknown;
  }
}

base::Result<std::string> EncodeImportRecord(const ImportRecord& record) {
  if (record.public_key.empty() || record.public_key.size() > slashing::kMaxPublicKeySize) {
    return Malformed("public key size out of range");
  }
  if (record.signer_id.size() > kMaxSignerIdSize) return Malformed("signer id too long");
  if (record.interchange_json.empty() || record.interchange_json.size() > kMaxImportJsonSize) {
    return Malformed("interchange text size out of range");
  }
  std::string out;
  out.reserve(96 + record.public_key.size() + record.signer_id.size() +
              record.interchange_json.size());
  AppendBigEndian<uint8_t>(out, kClaimRecordVersion2);
  AppendBigEndian<uint8_t>(out, kClaimRecordKindImport);
  AppendBigEndian<uint8_t>(out, static_cast<uint8_t>(record.public_key.size()));
  PutBytes(out, record.public_key);
  PutProvenance(out, record.genesis_hash, record.signer_id, record.request_id, record.time_unix_ms);
  AppendBigEndian<uint32_t>(out, static_cast<uint32_t>(record.interchange_json.size()));
  out.append(record.interchange_json);
  return out;
}

base::Result<ImportRecord> DecodeImportRecord(std::span<const uint8_t> bytes) {
  Reader reader(bytes);
  SIGNER_RETURN_IF_ERROR(ReadVersionTwoKind(reader, kClaimRecordKindImport));
  ImportRecord record;
  auto key_size = reader.Read<uint8_t>();
  if (!key_size || *key_size == 0 || *key_size > slashing::kMaxPublicKeySize) {
    return Malformed("public key size out of range");
  }
  auto key = reader.Bytes(*key_size);
  if (!key) return Malformed("truncated public key");
  record.public_key.assign(key->begin(), key->end());
  if (base::Status read = ReadProvenance(reader, {&record.genesis_hash, &record.signer_id,
                                                  &record.request_id, &record.time_unix_ms});
      !read.ok()) {
    return read;
  }
  auto json_size = reader.Read<uint32_t>();
  if (!json_size || *json_size == 0 || *json_size > kMaxImportJsonSize) {
    return Malformed("interchange text size out of range");
  }
  auto json = reader.Bytes(*json_size);
  if (!json) return Malformed("truncated interchange text");
  record.interchange_json.assign(json->begin(), json->end());
  if (!reader.done()) return Malformed("trailing bytes");
  return record;
}

base::Result<std::string> EncodePruneRecord(const PruneRecord& record) {
  if (record.signer_id.size() > kMaxSignerIdSize) return Malformed("signer id too long");
  if (record.partition_count <= 0 || record.partition < 0 ||
      record.partition >= record.partition_count) {
    return Malformed("partition out of range");
  }
  if (!slashing::DomainFromByte(static_cast<uint8_t>(record.domain))) {
    return Malformed("unknown domain");
  }
  std::string out;
  AppendBigEndian<uint8_t>(out, kClaimRecordVersion2);
  AppendBigEndian<uint8_t>(out, kClaimRecordKindPrune);
  PutProvenance(out, record.genesis_hash, record.signer_id, record.request_id, record.time_unix_ms);
  AppendBigEndian<uint32_t>(out, static_cast<uint32_t>(record.partition));
  AppendBigEndian<uint32_t>(out, static_cast<uint32_t>(record.partition_count));
  AppendBigEndian<uint8_t>(out, static_cast<uint8_t>(record.domain));
  AppendBigEndian<uint64_t>(out, record.below.major);
  AppendBigEndian<uint64_t>(out, record.below.minor);
  return out;
}

base::Result<PruneRecord> DecodePruneRecord(std::span<const uint8_t> bytes) {
  Reader reader(bytes);
  SIGNER_RETURN_IF_ERROR(ReadVersionTwoKind(reader, kClaimRecordKindPrune));
  PruneRecord record;
  if (base::Status read = ReadProvenance(reader, {&record.genesis_hash, &record.signer_id,
                                                  &record.request_id, &record.time_unix_ms});
      !read.ok()) {
    return read;
  }
  auto partition = reader.Read<uint32_t>();
  auto partition_count = reader.Read<uint32_t>();
  if (!partition || !partition_count) return Malformed("truncated partition");
  if (*partition_count == 0 || *partition_count > INT32_MAX || *partition >= *partition_count) {
    return Malformed("partition out of range");
  }
  record.partition = static_cast<int32_t>(*partition);
  record.partition_count = static_cast<int32_t>(*partition_count);
  auto domain_byte = reader.Read<uint8_t>();
  if (!domain_byte) return Malformed("truncated domain");
  auto domain = slashing::DomainFromByte(*domain_byte);
  if (!domain) return Malformed("unknown domain");
  record.domain = *domain;
  auto major = reader.Read<uint64_t>();
  auto minor = reader.Read<uint64_t>();
  if (!major || !minor) return Malformed("truncated watermark");
  record.below = {*major, *minor};
  if (!reader.done()) return Malformed("trailing bytes");
  return record;
}

base::KeyTypeId KeyTypeForDomain(slashing::Domain domain) {
  switch (domain) {
    case slashing::Domain::kBabe:
      return base::kKeyTypeBabe;
    case slashing::Domain::kGrandpaPrevote:
    case slashing::Domain::kGrandpaPrecommit:
      return base::kKeyTypeGrandpa;
    case slashing::Domain::kBeefy:
      return base::kKeyTypeBeefy;
    case slashing::Domain::kDispute:
      return base::kKeyTypePara;
  }
  return {};
}

base::Result<std::string> EncodeClaimRecord(const ClaimRecord& record) {
  if (record.public_key.empty() || record.public_key.size() > slashing::kMaxPublicKeySize) {
    return Malformed("public key size out of range");
  }
  if (record.signer_id.size() > kMaxSignerIdSize) return Malformed("signer id too long");
  if (record.claims.empty() || record.claims.size() > kMaxClaimsPerRecord) {
    return Malformed("claim count out of range");
  }
  const bool fits_version1 = record.claims.size() <= kMaxClaimsPerRecordVersion1;
  std::string out;
  out.reserve(96 + record.public_key.size() + record.signer_id.size() +
              record.claims.size() * (64 + slashing::kMaxDigestSize));
  if (fits_version1) {
    AppendBigEndian<uint8_t>(out, kClaimRecordVersion1);
  } else {
    AppendBigEndian<uint8_t>(out, kClaimRecordVersion2);
    AppendBigEndian<uint8_t>(out, kClaimRecordKindClaims);
  }
  PutBytes(out, record.key_type);
  AppendBigEndian<uint8_t>(out, static_cast<uint8_t>(record.public_key.size()));
  PutBytes(out, record.public_key);
  PutBytes(out, record.genesis_hash);
  AppendBigEndian<uint8_t>(out, static_cast<uint8_t>(record.signer_id.size()));
  out.append(record.signer_id);
  PutBytes(out, record.request_id);
  AppendBigEndian<uint64_t>(out, record.time_unix_ms);
  if (fits_version1) {
    AppendBigEndian<uint8_t>(out, static_cast<uint8_t>(record.claims.size()));
  } else {
    AppendBigEndian<uint16_t>(out, static_cast<uint16_t>(record.claims.size()));
  }
  PositionShapeChecker shape(record.public_key);
  for (const slashing::Claim& claim : record.claims) {
    if (!slashing::DomainFromByte(static_cast<uint8_t>(claim.domain))) {
      return Malformed("unknown domain");
    }
    if (!shape.Fits(claim)) return Malformed("position shape not allowed in its domain");
    if (claim.digest.empty() || claim.digest.size() > slashing::kMaxDigestSize) {
      return Malformed("digest size out of range");
    }
    AppendBigEndian<uint8_t>(out, static_cast<uint8_t>(claim.domain));
    AppendBigEndian<uint64_t>(out, claim.position.major);
    AppendBigEndian<uint64_t>(out, claim.position.minor);
    PutBytes(out, claim.position.candidate);
    AppendBigEndian<uint8_t>(out, static_cast<uint8_t>(claim.digest.size()));
    PutBytes(out, claim.digest);
  }
  return out;
}

base::Result<ClaimRecord> DecodeClaimRecord(std::span<const uint8_t> bytes) {
  Reader reader(bytes);
  ClaimRecord record;
  auto version = reader.Read<uint8_t>();
  if (!version) return Malformed("empty");
  if (*version != kClaimRecordVersion1 && *version != kClaimRecordVersion2) {
    return Malformed("unknown format version");
  }
  if (*version == kClaimRecordVersion2) {
    auto kind = reader.Read<uint8_t>();
    if (!kind) return Malformed("truncated kind");
    if (*kind != kClaimRecordKindClaims) return Malformed("unknown record kind");
  }
  auto key_type = reader.Bytes(record.key_type.size());
  if (!key_type) return Malformed("truncated key type");
  std::copy(key_type->begin(), key_type->end(), record.key_type.begin());
  auto key_size = reader.Read<uint8_t>();
  if (!key_size || *key_size == 0 || *key_size > slashing::kMaxPublicKeySize) {
    return Malformed("public key size out of range");
  }
  auto key = reader.Bytes(*key_size);
  if (!key) return Malformed("truncated public key");
  record.public_key.assign(key->begin(), key->end());
  auto genesis = reader.Bytes(record.genesis_hash.size());
  if (!genesis) return Malformed("truncated genesis hash");
  std::copy(genesis->begin(), genesis->end(), record.genesis_hash.begin());
  auto signer_size = reader.Read<uint8_t>();
  if (!signer_size || *signer_size > kMaxSignerIdSize) return Malformed("signer id size");
  auto signer = reader.Bytes(*signer_size);
  if (!signer) return Malformed("truncated signer id");
  record.signer_id.assign(signer->begin(), signer->end());
  auto request_id = reader.Bytes(record.request_id.size());
  if (!request_id) return Malformed("truncated request id");
  std::copy(request_id->begin(), request_id->end(), record.request_id.begin());
  auto time = reader.Read<uint64_t>();
  if (!time) return Malformed("truncated time");
  record.time_unix_ms = *time;
  std::optional<size_t> count;
  if (*version == kClaimRecordVersion1) {
    count = reader.Read<uint8_t>();
    if (count && (*count == 0 || *count > kMaxClaimsPerRecordVersion1)) {
      return Malformed("claim count out of range");
    }
  } else {
    count = reader.Read<uint16_t>();
    // A version 2 record that version 1 could carry has two encodings; refusing it keeps one.
    if (count && (*count <= kMaxClaimsPerRecordVersion1 || *count > kMaxClaimsPerRecord)) {
      return Malformed("claim count out of range");
    }
  }
  if (!count) return Malformed("truncated claim count");
  record.claims.reserve(*count);
  PositionShapeChecker shape(record.public_key);
  for (size_t i = 0; i < *count; ++i) {
    slashing::Claim claim;
    auto domain_byte = reader.Read<uint8_t>();
    if (!domain_byte) return Malformed("truncated claim");
    auto domain = slashing::DomainFromByte(*domain_byte);
    if (!domain) return Malformed("unknown domain");
    claim.domain = *domain;
    auto major = reader.Read<uint64_t>();
    auto minor = reader.Read<uint64_t>();
    auto candidate = reader.Bytes(claim.position.candidate.size());
    if (!major || !minor || !candidate) return Malformed("truncated position");
    claim.position.major = *major;
    claim.position.minor = *minor;
    std::copy(candidate->begin(), candidate->end(), claim.position.candidate.begin());
    // Refused here, the record is skipped by every signer alike instead of being stored under a
    // key the store later reads as corrupt.
    if (!shape.Fits(claim)) return Malformed("position shape not allowed in its domain");
    auto digest_size = reader.Read<uint8_t>();
    if (!digest_size || *digest_size == 0 || *digest_size > slashing::kMaxDigestSize) {
      return Malformed("digest size out of range");
    }
    auto digest = reader.Bytes(*digest_size);
    if (!digest) return Malformed("truncated digest");
    claim.digest.assign(digest->begin(), digest->end());
    record.claims.push_back(std::move(claim));
  }
  if (!reader.done()) return Malformed("trailing bytes");
  return record;
}

int32_t ClaimPartition(std::span<const uint8_t> public_key, int32_t partition_count) {
  constexpr uint64_t kFnvOffsetBasis = 0xcbf29ce484222325ULL;
  constexpr uint64_t kFnvPrime = 0x100000001b3ULL;
  uint64_t hash = kFnvOffsetBasis;
  for (uint8_t byte : public_key) {
    hash ^= byte;
    hash *= kFnvPrime;
  }
  if (partition_count <= 0) return 0;
  return static_cast<int32_t>(hash % static_cast<uint64_t>(partition_count));
}

}  // namespace kafka
