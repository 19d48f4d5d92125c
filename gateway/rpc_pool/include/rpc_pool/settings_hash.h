// The pool's settings hash: a node's startup flags, standardised and ordered, hashed the same way
// by the LB daemon (which reports it) and the pool controller (which compares it with the pool's).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace rpc_pool {

// kDefaultExcludedFlags are the flags that may differ between the nodes of one pool: where a node
// keeps its data and what it calls itself (seed 001). Names are without the leading dashes.
inline const std::vector<std::string> kDefaultExcludedFlags = {"base-path", "name"};

// StandardiseNodeFlags turns a node's command line (without the program name) into one line per
// flag value, "--flag=value" or "--flag" for a switch, sorted byte-wise, with the flags named in
// `excluded` (without dashes) left out. "--flag value", "--flag=value" and the short aliases
// Substrate nodes define ("-d" for --base-path, "-l" for --log) give the same line; a flag given
// several values ("--bootnodes a b") gives one line per value. Fails with kInvalidArgument on a
// token that is not a flag where a flag is expected, an unknown short flag, an empty flag name, or
// a name or value holding a control character (it would make two command lines look alike).
// Thread-safe.
[[nodiscard]] base::Result<std::vector<std::string>> StandardiseNodeFlags(
    const std::vector<std::string>& args,
    const std::vector<std::string>& excluded = kDefaultExcludedFlags);

// SettingsHashOfLines is BLAKE2b-256 over the standardised lines, each followed by "\n", as 64
// lower-case hex digits. Thread-safe.
std::string SettingsHashOfLines(const std::vector<std::string>& standardised_lines);

// SettingsHash standardises `args` (as StandardiseNodeFlags) and hashes the result. Fails as
// StandardiseNodeFlags does. Thread-safe.
[[nodiscard]] base::Result<std::string> SettingsHash(
    const std::vector<std::string>& args,
    const std::vector<std::string>& excluded = kDefaultExcludedFlags);

// IsSettingsHash says whether `text` has the form SettingsHash returns (64 lower-case hex digits).
bool IsSettingsHash(std::string_view text);

}  // namespace rpc_pool
