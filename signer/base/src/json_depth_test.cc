// Tests for the JSON bracket-depth guard: a table of depths, brackets inside strings and escapes.
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

}  // namespace
}  // namespace base
