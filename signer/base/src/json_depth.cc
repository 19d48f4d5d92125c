// Checks on untrusted JSON text: bracket depth outside strings, and repeated member names.
#include "base/json_depth.h"

#include <cstddef>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace base {
namespace {

// MemberNameChecker is a SAX handler that keeps the names seen in each object still open and
// stops the parse at the first name an object already has. Values are not kept.
class MemberNameChecker final : public nlohmann::json_sax<nlohmann::json> {
 public:
  bool null() override { return true; }
  bool boolean(bool /*value*/) override { return true; }
  bool number_integer(number_integer_t /*value*/) override { return true; }
  bool number_unsigned(number_unsigned_t /*value*/) override { return true; }
  bool number_float(number_float_t /*value*/, const string_t& /*text*/) override { return true; }
  bool string(string_t& /*value*/) override { return true; }
  bool binary(binary_t& /*value*/) override { return true; }
  bool start_object(std::size_t /*elements*/) override {
    open_objects_.emplace_back();
    return true;
  }
  bool key(string_t& name) override {
    return !open_objects_.empty() && open_objects_.back().insert(name).second;
  }
  bool end_object() override {
    if (open_objects_.empty()) return false;
    open_objects_.pop_back();
    return true;
  }
  bool start_array(std::size_t /*elements*/) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& /*error*/) override {
    return false;
  }

 private:
  std::vector<std::set<std::string>> open_objects_;
};

}  // namespace

bool JsonNestingWithin(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

bool JsonMembersUnique(std::string_view text) {
  MemberNameChecker checker;
  try {
    return nlohmann::json::sax_parse(text.begin(), text.end(), &checker);
  } catch (const std::exception&) {
    // sax_parse reports through parse_error; anything else (allocation) fails closed.
    return false;
  }
}

}  // namespace base
