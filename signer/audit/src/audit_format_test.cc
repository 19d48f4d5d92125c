// Audit line format tests: exact bytes and hash of a documented line, round trips, every malformed
// line either parser refuses (and why), and lines the audit log writes parsing back.
#include "audit/audit_format.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "audit/audit_field.h"
#include "audit/audit_log.h"

namespace signer {
namespace {

const std::string kAliceKey = "88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee";
const std::string kSomeHash = "c19e0b9aa087b3f32b88f0760d47ac1488131b84bd44d1cf2f0b4ac184420d97";

AuditRecord AliceSigns() {
  AuditRecord record;
  record.time_unix_ms = 1700000000000;
  record.identity = "validator-alice";
  record.method = "SignWith";
  record.operation = "sign";
  record.key_type = "gran";
  record.public_key = kAliceKey;
  record.domain = "grandpa_prevote";
  record.position = "set_id=3 round=0";
  record.verdict = "allowed_new";
  record.latency_us = 812;
  return record;
}

// ReplaceOnce returns `text` with the one occurrence of `from` replaced by `to`.
std::string ReplaceOnce(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// MemoryFile keeps what an AuditLog writes.
class MemoryFile final : public AuditFile {
 public:
  explicit MemoryFile(std::string& out) : out_(out) {}
  base::Status Append(std::string_view bytes) override {
    out_.append(bytes);
    return base::Status::Ok();
  }
  base::Status Sync() override { return base::Status::Ok(); }

 private:
  std::string& out_;
};

// --- bytes and hash -----------------------------------------------------------------------------

// The expected hashes are Python's hashlib.blake2b(line, digest_size=32).hexdigest(), an
// implementation independent of signer_base.
TEST(AuditFormatTest, ADocumentedLineHasExactlyTheseBytesAndThisHash) {
  const std::string line = FormatAuditLine(0, AliceSigns(), kAuditFirstLinePrev);
  EXPECT_EQ(line,
            "{\"seq\":0,\"time_ms\":1700000000000,\"identity\":\"validator-alice\","
            "\"method\":\"SignWith\",\"operation\":\"sign\",\"key_type\":\"gran\","
            "\"public_key\":\"88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee\","
            "\"domain\":\"grandpa_prevote\",\"position\":\"set_id=3 round=0\",\"verdict\":"
            "\"allowed_new\",\"reason\":\"\",\"latency_us\":812,\"prev\":\"" +
                std::string(64, '0') + "\"}");
  EXPECT_EQ(AuditLineHash(line),
            "c19e0b9aa087b3f32b88f0760d47ac1488131b84bd44d1cf2f0b4ac184420d97");
  EXPECT_EQ(AuditLineHash(""), "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
  EXPECT_EQ(kAuditFirstLinePrev, std::string(64, '0'));
}

TEST(AuditFormatTest, FieldsComeInTheDocumentedOrder) {
  const nlohmann::ordered_json object =
      nlohmann::ordered_json::parse(FormatAuditLine(5, AuditRecord{}, kSomeHash));
  std::vector<std::string> names;
  for (const auto& [name, value] : object.items()) {
    names.push_back(name);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"seq", "time_ms", "identity", "method", "operation",
                                             "key_type", "public_key", "domain", "position",
                                             "verdict", "reason", "latency_us", "prev"}));
}

TEST(AuditFormatTest, ComposingRenderedFieldsIsFormatting) {
  const AuditRecord record = AliceSigns();
  EXPECT_EQ(ComposeAuditLine(9, RenderAuditFields(record), kSomeHash),
            FormatAuditLine(9, record, kSomeHash));
  EXPECT_EQ(RenderAuditFields(AuditRecord{}).text,
            "\"time_ms\":0,\"identity\":\"\",\"method\":\"\",\"operation\":\"\",\"key_type\":\"\","
            "\"public_key\":\"\",\"domain\":\"\",\"position\":\"\",\"verdict\":\"\","
            "\"reason\":\"\",\"latency_us\":0");
}

TEST(AuditFormatTest, InvalidUtf8IsReplacedNotRefused) {
  AuditRecord record;
  record.reason =
      "a\xff"
      "b";
  const std::string line = FormatAuditLine(0, record, kAuditFirstLinePrev);
  EXPECT_NE(line.find("\"reason\":\"a\xef\xbf\xbd"
                      "b\""),
            std::string::npos)
      << line;
  const auto parsed = ParseAuditLine(line);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->record.reason,
            "a\xef\xbf\xbd"
            "b");
}

// --- round trips --------------------------------------------------------------------------------

TEST(AuditFormatTest, EveryRecordRoundTrips) {
  struct Case {
    const char* name;
    uint64_t seq;
    std::string prev;
    AuditRecord record;
  };
  AuditRecord extremes;
  extremes.time_unix_ms = UINT64_MAX;
  extremes.latency_us = UINT64_MAX;
  AuditRecord escapes = AliceSigns();
  escapes.identity = "quote \" backslash \\ slash /";
  escapes.reason = std::string("controls \n\r\t\b\f and NUL ") + '\0' + " and DEL \x7f";
  escapes.position = "unicode \xe2\x82\xac \xf0\x9f\x94\x91";
  AuditRecord long_fields = AliceSigns();
  long_fields.reason = std::string(100'000, 'r');
  AuditRecord invalid_markers = BoundAuditRecord([] {
    AuditRecord raw;
    raw.key_type = "\xff\"gr\\an";
    raw.public_key = "NOT HEX";
    return raw;
  }());
  const std::vector<Case> cases = {
      {"empty record, first line", 0, std::string(kAuditFirstLinePrev), AuditRecord{}},
      {"typical decision", 41, kSomeHash, AliceSigns()},
      {"largest numbers", UINT64_MAX, kSomeHash, extremes},
      {"characters JSON escapes", 3, kSomeHash, escapes},
      {"a long field", 4, kSomeHash, long_fields},
      {"bounded invalid fields", 5, kSomeHash, invalid_markers},
      // prev is written as given; only the chain judges it.
      {"prev that is not a hash", 6, "not a hash", AliceSigns()},
      {"empty prev", 7, "", AliceSigns()},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string line = FormatAuditLine(c.seq, c.record, c.prev);
    EXPECT_EQ(line.find('\n'), std::string::npos);
    const auto parsed = ParseAuditLine(line);
    ASSERT_TRUE(parsed.ok()) << parsed.status().message();
    EXPECT_EQ(parsed->link, (AuditChainLink{c.seq, c.prev}));
    EXPECT_EQ(parsed->record, c.record);
    const auto link = ParseAuditChainLink(line);
    ASSERT_TRUE(link.ok()) << link.status().message();
    EXPECT_EQ(*link, (AuditChainLink{c.seq, c.prev}));
    // Formatting what was parsed gives the same bytes, so the same chain hash.
    EXPECT_EQ(FormatAuditLine(parsed->link.seq, parsed->record, parsed->link.prev), line);
  }
}

TEST(AuditFormatTest, LinesTheLogWritesParseBackAndChain) {
  std::vector<AuditRecord> records = {AliceSigns(), AuditRecord{}};
  AuditRecord hostile = AliceSigns();
  hostile.identity = std::string(10'000, 'i') + "\n{\"seq\":0}";
  hostile.key_type = "\xff\xfe\n\"";
  hostile.reason = "line one\nline two \xc3";
  records.push_back(hostile);

  std::string written;
  auto log = AuditLog::Create(std::make_unique<MemoryFile>(written), "");
  ASSERT_TRUE(log.ok()) << log.status().message();
  for (const AuditRecord& record : records) {
    ASSERT_TRUE((*log)->Append(record).ok());
  }
  std::istringstream stream(written);
  std::string prev(kAuditFirstLinePrev);
  uint64_t seq = 0;
  for (std::string line; std::getline(stream, line); ++seq) {
    SCOPED_TRACE(seq);
    ASSERT_LT(seq, records.size());
    const auto parsed = ParseAuditLine(line);
    ASSERT_TRUE(parsed.ok()) << parsed.status().message();
    EXPECT_EQ(parsed->link, (AuditChainLink{seq, prev}));
    // The log writes the bounded record (audit_field.h), and exactly its formatted line.
    EXPECT_EQ(parsed->record, BoundAuditRecord(records[seq]));
    EXPECT_EQ(line, FormatAuditLine(seq, BoundAuditRecord(records[seq]), prev));
    prev = AuditLineHash(line);
  }
  EXPECT_EQ(seq, records.size());
}

// --- malformed lines ----------------------------------------------------------------------------

// ParseCase is one line and what each parser makes of it: the failure message, or "" for success.
struct ParseCase {
  std::string name;
  std::string line;
  std::string line_problem;  // ParseAuditLine
  std::string link_problem;  // ParseAuditChainLink
};

void ExpectParses(const std::vector<ParseCase>& cases) {
  for (const ParseCase& c : cases) {
    SCOPED_TRACE(c.name + ": " + c.line.substr(0, 200));
    const auto parsed = ParseAuditLine(c.line);
    if (c.line_problem.empty()) {
      EXPECT_TRUE(parsed.ok()) << parsed.status().message();
    } else {
      ASSERT_FALSE(parsed.ok());
      EXPECT_EQ(parsed.status().code(), base::StatusCode::kInvalidArgument);
      EXPECT_EQ(parsed.status().message(), c.line_problem);
    }
    const auto link = ParseAuditChainLink(c.line);
    if (c.link_problem.empty()) {
      EXPECT_TRUE(link.ok()) << link.status().message();
    } else {
      ASSERT_FALSE(link.ok());
      EXPECT_EQ(link.status().code(), base::StatusCode::kInvalidArgument);
      EXPECT_EQ(link.status().message(), c.link_problem);
    }
  }
}

TEST(AuditFormatTest, MalformedLinesAreRefusedWithTheFirstProblem) {
  const std::string valid = FormatAuditLine(7, AliceSigns(), kSomeHash);
  const std::string not_object = "not a JSON object";
  const std::string wrong_fields = "unexpected set of fields";
  const std::string wrong_type = "seq or prev has the wrong type";
  const std::string prev_field = "\"prev\":\"" + kSomeHash + "\"";
  const std::vector<ParseCase> cases = {
      {"the valid line itself", valid, "", ""},
      {"empty", "", not_object, not_object},
      {"blank", "   ", not_object, not_object},
      {"not JSON", "not json", not_object, not_object},
      {"an array", "[1,2]", not_object, not_object},
      {"a number", "42", not_object, not_object},
      {"a string", "\"text\"", not_object, not_object},
      {"null", "null", not_object, not_object},
      {"torn: the last byte missing", valid.substr(0, valid.size() - 1), not_object, not_object},
      {"torn: half a line", valid.substr(0, valid.size() / 2), not_object, not_object},
      {"trailing bytes", valid + "x", not_object, not_object},
      {"two objects", valid + valid, not_object, not_object},
      {"a raw newline inside a string", ReplaceOnce(valid, "sign\"", "si\ngn\""), not_object,
       not_object},
      {"a raw NUL inside a string", ReplaceOnce(valid, "sign\"", std::string("si\0gn\"", 6)),
       not_object, not_object},
      {"invalid UTF-8 inside a string", ReplaceOnce(valid, "sign\"", "si\xffgn\""), not_object,
       not_object},
      {"an empty object", "{}", wrong_fields, "missing field seq"},
      {"only seq and prev", "{\"seq\":0," + prev_field + "}", wrong_fields, ""},
      {"a fourteenth field", ReplaceOnce(valid, "{", "{\"extra\":1,"), wrong_fields, ""},
      {"a duplicated field leaving twelve",
       ReplaceOnce(valid, "\"time_ms\":1700000000000", "\"seq\":7"), wrong_fields, ""},
      {"seq negative", ReplaceOnce(valid, "\"seq\":7", "\"seq\":-7"), wrong_type, wrong_type},
      {"seq fractional", ReplaceOnce(valid, "\"seq\":7", "\"seq\":7.0"), wrong_type, wrong_type},
      {"seq beyond 64 bits", ReplaceOnce(valid, "\"seq\":7", "\"seq\":18446744073709551616"),
       wrong_type, wrong_type},
      {"seq a string", ReplaceOnce(valid, "\"seq\":7", "\"seq\":\"7\""), wrong_type, wrong_type},
      {"seq null", ReplaceOnce(valid, "\"seq\":7", "\"seq\":null"), wrong_type, wrong_type},
      {"prev a number", ReplaceOnce(valid, prev_field, "\"prev\":5"), wrong_type, wrong_type},
      {"prev null", ReplaceOnce(valid, prev_field, "\"prev\":null"), wrong_type, wrong_type},
      {"prev an array", ReplaceOnce(valid, prev_field, "\"prev\":[]"), wrong_type, wrong_type},
  };
  ExpectParses(cases);
}

TEST(AuditFormatTest, EachMissingFieldIsNamed) {
  const std::string valid = FormatAuditLine(7, AliceSigns(), kSomeHash);
  std::vector<ParseCase> cases;
  for (const char* field :
       {"seq", "time_ms", "identity", "method", "operation", "key_type", "public_key", "domain",
        "position", "verdict", "reason", "latency_us", "prev"}) {
    const std::string key = std::string("\"") + field + "\":";
    const bool chain_field = std::string(field) == "seq" || std::string(field) == "prev";
    // Renamed: still thirteen fields, so the missing one is named.
    cases.push_back({std::string("renamed ") + field,
                     ReplaceOnce(valid, key, std::string("\"x_") + field + "\":"),
                     std::string("missing field ") + field,
                     chain_field ? std::string("missing field ") + field : ""});
    // Removed: twelve fields.
    nlohmann::ordered_json object = nlohmann::ordered_json::parse(valid);
    object.erase(field);
    cases.push_back({std::string("removed ") + field, object.dump(), "unexpected set of fields",
                     chain_field ? std::string("missing field ") + field : ""});
  }
  ExpectParses(cases);
}

// These lines are not what the writer writes, but verify as they always have: the chain covers the
// bytes, and only seq and prev take part in it.
TEST(AuditFormatTest, LinesOnlyTheLayoutOrValueTypesSetApartAreAccepted) {
  const std::string valid = FormatAuditLine(7, AliceSigns(), kSomeHash);
  nlohmann::ordered_json reordered = nlohmann::ordered_json::parse(valid);
  const nlohmann::ordered_json seq = reordered["seq"];
  reordered.erase("seq");
  reordered["seq"] = seq;
  const std::vector<ParseCase> cases = {
      {"spaces around and inside", "  " + ReplaceOnce(valid, "\"seq\":7", "\"seq\" : 7") + " ", "",
       ""},
      {"fields in another order", reordered.dump(), "", ""},
      {"a duplicated field among thirteen", ReplaceOnce(valid, "{", "{\"seq\":7,"), "", ""},
      {"prev that is not a hash", ReplaceOnce(valid, kSomeHash, "xyz"), "", ""},
  };
  ExpectParses(cases);

  std::string mistyped = ReplaceOnce(valid, "\"time_ms\":1700000000000", "\"time_ms\":\"soon\"");
  mistyped = ReplaceOnce(mistyped, "\"identity\":\"validator-alice\"", "\"identity\":17");
  mistyped = ReplaceOnce(mistyped, "\"domain\":\"grandpa_prevote\"", "\"domain\":null");
  mistyped = ReplaceOnce(mistyped, "\"latency_us\":812", "\"latency_us\":-1");
  const auto parsed = ParseAuditLine(mistyped);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->link, (AuditChainLink{7, kSomeHash}));
  AuditRecord expected = AliceSigns();
  expected.time_unix_ms = 0;
  expected.identity.clear();
  expected.domain.clear();
  expected.latency_us = 0;
  EXPECT_EQ(parsed->record, expected);
}

}  // namespace
}  // namespace signer
