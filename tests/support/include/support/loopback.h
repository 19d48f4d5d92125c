// Loopback TCP for tests: connect to a listener on 127.0.0.1 and make a plain HTTP/1.1 request.
#pragma once

#include <string>

#include "base/status.h"

namespace support {

// ConnectToLoopback opens a TCP connection to 127.0.0.1:`port` and returns the descriptor, which
// the caller closes. Fails with kUnavailable.
base::Result<int> ConnectToLoopback(int port);

// HttpRequest sends "`method` `path` HTTP/1.1" (Connection: close) to 127.0.0.1:`port` without TLS
// and returns the whole response, or an empty string if the connection or the send fails.
std::string HttpRequest(int port, const std::string& method, const std::string& path);

}  // namespace support
