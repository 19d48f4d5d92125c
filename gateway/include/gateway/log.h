// signer-gateway's log lines on stderr: plain text, or one JSON object per line (log_format: json).
#pragma once

#include <string>
#include <string_view>

namespace gateway {

enum class LogFormat { kText, kJson };
enum class LogLevel { kInfo, kWarning, kError };

// SetLogFormat chooses the format of every later line; text until called. Call it once, before
// threads start logging (it is not synchronised with Log).
void SetLogFormat(LogFormat format);

// FormatLogLine renders one line (without the newline). Text: "gateway: MESSAGE". JSON: an object
// with "time" (UTC, RFC 3339 with milliseconds), "level" ("info", "warning", "error"),
// "component" ("signer-gateway") and "message"; bytes that are not UTF-8 become U+FFFD, so a line
// always parses. Thread-safe.
std::string FormatLogLine(LogFormat format, LogLevel level, std::string_view message);

// Log writes one line to stderr in the chosen format, in a single write so lines of concurrent
// threads never interleave. Thread-safe.
void Log(LogLevel level, std::string_view message);

}  // namespace gateway
