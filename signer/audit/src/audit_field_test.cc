// Audit field bounding: valid request fields pass unchanged, anything else becomes a short escaped
// marker, and the decision log line keeps every request byte inside its own quoted value.
#include "audit/audit_field.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace signer {
namespace {

const std::string kSrKeyHex(64, 'a');
const std::string kEcdsaKeyHex = "02" + std::string(64, 'f');

// IsQuietText says whether `text` is printable ASCII with no quote: it can sit in a JSON string or
// a quoted log value without ending it.
bool IsQuietText(const std::string& text) {
  for (char c : text) {
    if (c < 0x20 || c > 0x7e || c == '"') return false;
  }
  return true;
}

TEST(AuditFieldTest, ValidFieldsPassUnchanged) {
  for (const char* key_type : {"gran", "babe", "imon", "audi", "para", "asgn", "acco"}) {
    EXPECT_EQ(AuditKeyTypeField(key_type), key_type);
  }
  EXPECT_EQ(AuditPublicKeyField(kSrKeyHex), kSrKeyHex);
  EXPECT_EQ(AuditPublicKeyField(kEcdsaKeyHex), kEcdsaKeyHex);
  EXPECT_EQ(AuditPublicKeyField(""), "");
  EXPECT_EQ(AuditTextField("set_id=3 round=7", kAuditMaxShortTextBytes), "set_id=3 round=7");
}

TEST(AuditFieldTest, AnOversizedKeyTypeBecomesItsLengthAndAShortPrefix) {
  const std::string huge(400 * 1024, 'k');
  const std::string field = AuditKeyTypeField(huge);
  EXPECT_EQ(field, "invalid(len=409600,prefix=" + std::string(kAuditInvalidPrefixBytes, 'k') + ")");
}

TEST(AuditFieldTest, InvalidFieldsAreEscaped) {
  const std::string forged = "gr\"\n\\ =(),\x01\xff";
  const std::string field = AuditKeyTypeField(forged);
  EXPECT_EQ(field, "invalid(len=12,prefix=gr\\x22\\x0a\\x5c\\x20\\x3d\\x28\\x29\\x2c\\x01\\xff)");
  EXPECT_TRUE(IsQuietText(field));
  // Four bytes are not enough: each must be printable and neither a quote nor a backslash.
  EXPECT_EQ(AuditKeyTypeField("gr\"n").rfind("invalid(len=4,", 0), 0u);
  EXPECT_EQ(AuditKeyTypeField("gr\nn").rfind("invalid(len=4,", 0), 0u);
  EXPECT_EQ(AuditKeyTypeField("gra").rfind("invalid(len=3,", 0), 0u);
}

TEST(AuditFieldTest, PublicKeysMustBeLowerCaseHexOfAKnownLength) {
  EXPECT_EQ(AuditPublicKeyField(std::string(64, 'A')).rfind("invalid(len=64,", 0), 0u);
  EXPECT_EQ(AuditPublicKeyField(std::string(62, 'a')).rfind("invalid(len=62,", 0), 0u);
  EXPECT_EQ(AuditPublicKeyField("0x" + std::string(64, 'a')).rfind("invalid(len=66,", 0), 0u);
  EXPECT_EQ(AuditPublicKeyField(std::string(800 * 1024, 'a')).size(),
            std::string("invalid(len=819200,prefix=)").size() + kAuditInvalidPrefixBytes);
}

TEST(AuditFieldTest, BoundRecordKeepsEveryFieldShortAndQuiet) {
  AuditRecord record;
  record.time_unix_ms = 7;
  record.identity = std::string(10'000, 'i');
  record.method = "SignWith\n";
  record.operation = "sign";
  record.key_type = std::string(400 * 1024, '"');
  record.public_key = std::string(1 << 20, 'z');
  record.domain = "grandpa_prevote";
  record.position = "set_id=1 round=2";
  record.verdict = "denied";
  record.reason = std::string(100'000, 'r');
  record.latency_us = 9;
  const AuditRecord bounded = BoundAuditRecord(record);
  EXPECT_EQ(bounded.time_unix_ms, 7u);
  EXPECT_EQ(bounded.latency_us, 9u);
  EXPECT_EQ(bounded.operation, "sign");
  EXPECT_EQ(bounded.domain, "grandpa_prevote");
  EXPECT_EQ(bounded.position, "set_id=1 round=2");
  for (const std::string* field : {&bounded.identity, &bounded.method, &bounded.key_type,
                                   &bounded.public_key, &bounded.reason}) {
    EXPECT_EQ(field->rfind("invalid(len=", 0), 0u) << *field;
    // A prefix of at most a quarter of the bound, each byte escaped to at most four.
    EXPECT_LE(field->size(), kAuditMaxReasonBytes + 64);
    EXPECT_TRUE(IsQuietText(*field)) << *field;
  }
}

TEST(AuditFieldTest, QuoteLogValueEscapesEverythingThatCouldEndTheValue) {
  EXPECT_EQ(QuoteLogValue("plain text"), "\"plain text\"");
  EXPECT_EQ(QuoteLogValue("a\"b\\c\nd\re\x7f"), "\"a\\\"b\\\\c\\x0ad\\x0de\\x7f\"");
}

// ParseLogFields splits a key=value line whose values are bare words or double-quoted strings
// with backslash escapes, as a log shipper would; returns the keys in order, or nothing if the
// line does not parse.
std::vector<std::string> ParseLogFields(const std::string& line) {
  std::vector<std::string> keys;
  size_t at = 0;
  while (at < line.size()) {
    const size_t equals = line.find('=', at);
    if (equals == std::string::npos) return {};
    keys.push_back(line.substr(at, equals - at));
    at = equals + 1;
    if (at < line.size() && line[at] == '"') {
      ++at;
      while (at < line.size() && line[at] != '"') {
        at += line[at] == '\\' ? 2 : 1;
      }
      if (at >= line.size()) return {};
      ++at;
    } else {
      while (at < line.size() && line[at] != ' ') ++at;
    }
    if (at < line.size()) {
      if (line[at] != ' ') return {};
      ++at;
    }
  }
  return keys;
}

TEST(AuditFieldTest, DecisionLogLineCannotBeForged) {
  AuditRecord record;
  record.identity = "intruder";
  record.method = "SignWith";
  record.operation = "sign";
  // A key_type that, pasted raw into the old line, closes its quotes and forges a second line.
  record.key_type =
      "x\" reason=\"ok\"\n[2026-01-01 00:00:00.000] [warn] event=decision verdict=allowed "
      "identity=\"validator\" key_type=\"gran";
  record.public_key = "zz\nverdict=allowed";
  record.verdict = "denied";
  record.reason = "no grant";
  const std::string line = DecisionLogLine(record);
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  EXPECT_EQ(line.find('\r'), std::string::npos) << line;
  const std::vector<std::string> expected = {"event",  "verdict",  "identity",
                                             "method", "key_type", "public_key",
                                             "domain", "position", "reason"};
  EXPECT_EQ(ParseLogFields(line), expected) << line;
  const std::string marker = "key_type=\"invalid(len=" + std::to_string(record.key_type.size()) +
                             ",prefix=x\\\\x22\\\\x20reason\\\\x3d";
  EXPECT_NE(line.find(marker), std::string::npos) << line;
  EXPECT_EQ(line.rfind("event=decision verdict=denied identity=\"intruder\" method=SignWith ", 0),
            0u)
      << line;
  EXPECT_NE(line.find(R"x( public_key="invalid(len=18,prefix=zz\\x0averdict\\x3dallow)" )x"),
            std::string::npos)
      << line;
}

TEST(AuditFieldTest, DecisionLogLineKeepsItsShapeForValidRequests) {
  AuditRecord record;
  record.identity = "validator-alice";
  record.method = "SignWith";
  record.operation = "sign";
  record.key_type = "gran";
  record.public_key = kSrKeyHex;
  record.domain = "grandpa_prevote";
  record.position = "set_id=3 round=7";
  record.verdict = "refused_equivocation";
  record.reason = "already signed a different prevote";
  EXPECT_EQ(DecisionLogLine(record),
            "event=decision verdict=refused_equivocation identity=\"validator-alice\" "
            "method=SignWith key_type=\"gran\" public_key=" +
                kSrKeyHex +
                " domain=grandpa_prevote position=\"set_id=3 round=7\" reason=\"already signed "
                "a different prevote\"");
  EXPECT_EQ(BareOrQuotedLogValue(""), "\"\"");
  EXPECT_EQ(BareOrQuotedLogValue("a b"), "\"a b\"");
}

}  // namespace
}  // namespace signer
