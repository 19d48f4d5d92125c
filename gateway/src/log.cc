// signer-gateway's log lines: text or JSON, one write per line.
#include "gateway/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

namespace gateway {
namespace {

std::atomic<LogFormat> g_format{LogFormat::kText};

std::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "error";
}

std::string UtcNow() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[32];
  const size_t length = std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &utc);
  char out[40];
  std::snprintf(out, sizeof(out), "%.*s.%03dZ", static_cast<int>(length), text,
                static_cast<int>(millis));
  return out;
}

// EscapeControls writes control bytes (a newline above all) as \xNN: a signer's or node's text
// inside a message must not start a line of its own that reads like the gateway's.
std::string EscapeControls(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  for (const char c : message) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f || c == '\\') {
      char escaped[5];
      std::snprintf(escaped, sizeof(escaped), "\\x%02x", byte);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

void SetLogFormat(LogFormat format) { g_format.store(format); }

std::string FormatLogLine(LogFormat format, LogLevel level, std::string_view message) {
  if (format == LogFormat::kText) return "gateway: " + EscapeControls(message);
  nlohmann::json line = {{"time", UtcNow()},
                         {"level", LevelName(level)},
                         {"component", "signer-gateway"},
                         {"message", std::string(message)}};
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void Log(LogLevel level, std::string_view message) {
  std::string line = FormatLogLine(g_format.load(), level, message);
  line += '\n';
  // One write: a line is never split between threads (stderr is unbuffered, but fprintf may still
  // write in pieces).
  const char* data = line.data();
  size_t left = line.size();
  while (left > 0) {
    const ssize_t written = ::write(STDERR_FILENO, data, left);
    if (written <= 0) return;
    data += written;
    left -= static_cast<size_t>(written);
  }
}

}  // namespace gateway
