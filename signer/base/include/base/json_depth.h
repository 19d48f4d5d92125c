// A bracket-depth check for untrusted JSON, run before a recursive parser sees the text.
#pragma once

#include <string_view>

namespace base {

// JsonNestingWithin is true when no array or object in `text` nests deeper than `max_depth`,
// counting brackets outside strings only. It does not validate JSON (the parser does that); it only
// keeps hostile input from driving a recursive parser deep. Thread-safe.
bool JsonNestingWithin(std::string_view text, int max_depth);

}  // namespace base
