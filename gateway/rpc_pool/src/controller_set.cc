// ControllerSet: the controllers an LB daemon sends heartbeats to, and the aliases they report.
#include "rpc_pool/controller_set.h"

#include <algorithm>
#include <charconv>
#include <set>
#include <utility>

namespace rpc_pool {
namespace {

constexpr size_t kMaxHostLength = 253;

bool IsHostCharacter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

bool IsIpv6Character(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
         c == '.';
}

}  // namespace

bool IsValidControllerAddress(std::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  const std::string_view host = address.substr(0, colon);
  const std::string_view port_text = address.substr(colon + 1);
  unsigned port = 0;
  const auto [end, error] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || error != std::errc() || end != port_text.data() + port_text.size() ||
      port == 0 || port > 65535) {
    return false;
  }
  if (host.front() == '[') {
    if (host.size() < 4 || host.back() != ']') return false;
    const std::string_view inner = host.substr(1, host.size() - 2);
    return std::all_of(inner.begin(), inner.end(), IsIpv6Character);
  }
  return host.size() <= kMaxHostLength && std::all_of(host.begin(), host.end(), IsHostCharacter);
}

ControllerSet::ControllerSet(std::vector<std::string> configured, size_t max_controllers)
    : configured_(std::move(configured)), max_controllers_(max_controllers) {}

std::vector<std::string> ControllerSet::Addresses() const {
  std::vector<std::string> addresses;
  std::set<std::string> seen;
  const auto add = [&](const std::string& address) {
    if (addresses.size() < max_controllers_ && seen.insert(address).second) {
      addresses.push_back(address);
    }
  };
  for (const std::string& address : configured_) add(address);
  // Only what a controller still in the set reports counts: a clone every other clone dropped
  // from its list leaves, even if its own (stale) list still names itself.
  for (size_t i = 0; i < addresses.size(); ++i) {
    const auto reported = reported_.find(addresses[i]);
    if (reported == reported_.end()) continue;
    for (const std::string& alias : reported->second) add(alias);
  }
  return addresses;
}

std::vector<std::string> ControllerSet::OnAliases(const std::string& from,
                                                  const std::vector<std::string>& aliases) {
  std::vector<std::string> warnings;
  std::vector<std::string> valid;
  for (const std::string& alias : aliases) {
    if (IsValidControllerAddress(alias)) {
      valid.push_back(alias);
    } else {
      warnings.push_back("controller " + from + " lists an alias that is not HOST:PORT; ignored");
    }
  }
  std::vector<std::string> sorted = valid;
  std::sort(sorted.begin(), sorted.end());
  for (const auto& [other, other_aliases] : reported_) {
    if (other == from) continue;
    std::vector<std::string> other_sorted = other_aliases;
    std::sort(other_sorted.begin(), other_sorted.end());
    if (other_sorted != sorted) {
      std::string warning = "controllers " + from;
      warning += " and ";
      warning += other;
      warning += " list different aliases: every clone of an LB must list the same";
      warnings.push_back(std::move(warning));
      break;
    }
  }
  reported_[from] = std::move(valid);
  std::set<std::string> all(configured_.begin(), configured_.end());
  for (const auto& [reporter, reported_aliases] : reported_) {
    all.insert(reported_aliases.begin(), reported_aliases.end());
  }
  if (all.size() > max_controllers_) {
    warnings.push_back("more than " + std::to_string(max_controllers_) +
                       " controllers are known; heartbeats go to the first ones only");
  }
  return warnings;
}

void ControllerSet::Forget(const std::string& from) { reported_.erase(from); }

}  // namespace rpc_pool
