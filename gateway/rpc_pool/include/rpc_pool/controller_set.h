// ControllerSet: the pool controllers an LB daemon sends its heartbeats to: the ones it was given
// and the clones (seed 001's aliases) they report.
//
// Thread safety: thread-compatible (the daemon's loop owns it).
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace rpc_pool {

// IsValidControllerAddress says whether `address` is a HOST:PORT a daemon may dial: a host of
// 1 to 253 letters, digits, '.', '-', '_' (or a bracketed IPv6 address), and a port 1 to 65535.
// An alias comes from a controller's answer, so it is checked before it is ever dialed. Pure.
bool IsValidControllerAddress(std::string_view address);

class ControllerSet {
 public:
  // `configured` are the daemon's own controllers (its home LB first); at most `max_controllers`
  // addresses are ever dialed, configured ones first.
  ControllerSet(std::vector<std::string> configured, size_t max_controllers);

  // Addresses are the controllers to send the next heartbeat to: the configured ones, then every
  // alias listed in the latest answer of a controller already in the set (breadth first), each
  // once, at most `max_controllers`.
  std::vector<std::string> Addresses() const;

  // OnAliases records the alias list in `from`'s latest answer. Returns the warnings an operator
  // should see, one line each: an alias that is not a valid address (never dialed), a list that
  // differs from the one another controller sent (all clones must list the same), the limit
  // reached. Empty when all is well.
  std::vector<std::string> OnAliases(const std::string& from,
                                     const std::vector<std::string>& aliases);

  // Forget drops what `from` reported (a controller that left the set).
  void Forget(const std::string& from);

 private:
  const std::vector<std::string> configured_;
  const size_t max_controllers_;
  // The alias list each controller sent last (valid entries only, as sent).
  std::map<std::string, std::vector<std::string>> reported_;
};

}  // namespace rpc_pool
