// Checks for untrusted JSON run before a parser sees it: bracket depth, and repeated member names.
#pragma once

#include <string_view>

namespace base {

// JsonNestingWithin is true when no array or object in `text` nests deeper than `max_depth`,
// counting brackets outside strings only. It does not validate JSON (the parser does that); it only
// keeps hostile input from driving a recursive parser deep. Thread-safe.
bool JsonNestingWithin(std::string_view text, int max_depth);

// JsonMembersUnique is true when `text` is valid JSON in which no object names a member twice
// (names compared after their escapes are decoded, so "a" and "\u0061" are the same name). A DOM
// parser keeps only the last of repeated members, so a file that says one thing twice would be
// read as its last word with nothing to show the first was dropped: callers reading records an
// operator hands in refuse such a file instead. Call it after JsonNestingWithin. Thread-safe.
bool JsonMembersUnique(std::string_view text);

}  // namespace base
