// Loopback TCP for tests: connect to a listener on 127.0.0.1, make a plain HTTP/1.1 request and
// read a Prometheus page.
#pragma once

#include <optional>
#include <string>

#include "base/status.h"

namespace support {

// ConnectToLoopback opens a TCP connection to 127.0.0.1:`port` and returns the descriptor, which
// the caller closes. Fails with kUnavailable.
base::Result<int> ConnectToLoopback(int port);

// HttpRequest sends "`method` `path` HTTP/1.1" (Connection: close) to 127.0.0.1:`port` without TLS
// and returns the whole response, or an empty string if the connection or the send fails.
std::string HttpRequest(int port, const std::string& method, const std::string& path);

// HttpBody returns what follows the header block of an HTTP `response`; "" when there is none.
std::string HttpBody(const std::string& response);

// PrometheusSample finds the sample line of a text exposition that starts with `series` (the name
// and labels exactly as rendered, e.g. `x_total{code="OK"}`) and returns its value.
std::optional<double> PrometheusSample(const std::string& text, const std::string& series);

}  // namespace support
