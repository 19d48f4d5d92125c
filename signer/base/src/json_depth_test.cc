// Tests for the JSON guards: tables of nesting depths and of repeated member names.
#include "base/json_depth.h"

#include <gtest/gtest.h>

#include <string>

namespace base {
namespace {

TEST(JsonNestingWithinTest, CountsBracketsOutsideStringsOnly) {
  struct Case {
    std::string text;
    int max_depth;
    bool within;
  };
  const Case cases[] = {
      {"", 0, true},
      {"{}", 1, true},
      {"{}", 0, false},
      {"[[[]]]", 3, true},
      {"[[[]]]", 2, false},
      {"{\"a\":[{\"b\":[]}]}", 4, true},
      {"{\"a\":[{\"b\":[]}]}", 3, false},
      {"{\"[[[[\":1}", 1, true},         // brackets inside a string do not count
      {"{\"a\\\"[[[[\":1}", 1, true},    // nor after an escaped quote inside it
      {"{\"a\\\\\":[[[]]]}", 3, false},  // an escaped backslash ends the escape
      {std::string(100, '[') + std::string(100, ']'), 99, false},
      {"[][][][]", 1, true},  // siblings do not add up
  };
  for (const Case& c : cases) {
    EXPECT_EQ(JsonNestingWithin(c.text, c.max_depth), c.within) << c.text << " " << c.max_depth;
  }
}

TEST(JsonMembersUniqueTest, RefusesAnObjectThatNamesAMemberTwice) {
  struct Case {
    std::string text;
    bool unique;
  };
  const Case cases[] = {
      {R"({"a":1,"b":2})", true},
      {R"({"a":1,"a":1})", false},  // even with the same value
      {R"({"a":1,"b":2,"a":3})", false},
      {R"({"a":{"b":1},"b":{"a":1}})", true},  // the same name in different objects
      {R"([{"a":1},{"a":2}])", true},          // siblings in an array are different objects
      {R"({"a":{"b":1,"b":2}})", false},       // a repeat nested inside
      {R"({"a":[{"c":1,"c":2}]})", false},
      {R"({"a":1,"a":2})", false},  // the same name once its escape is decoded
      {R"({"a":1,"A":2})", true},   // names are case-sensitive
      {R"({"records":[{"slot":"1"}],"records":[]})", false},
      {R"({"a":1)", false},           // not JSON at all
      {R"({"a":1} {"a":1})", false},  // nor two documents
      {"", false},
      {"[]", true},
      {"3", true},
  };
  for (const Case& c : cases) EXPECT_EQ(JsonMembersUnique(c.text), c.unique) << c.text;
}

}  // namespace
}  // namespace base
