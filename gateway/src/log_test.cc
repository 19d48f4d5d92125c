// The gateway's log lines: the text form as before, and JSON that always parses.
#include "gateway/log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "gateway/config.h"

namespace gateway {
namespace {

TEST(GatewayLogTest, TextLinesKeepTheirPrefix) {
  EXPECT_EQ(FormatLogLine(LogFormat::kText, LogLevel::kWarning, "upstream a eligible"),
            "gateway: upstream a eligible");
}

TEST(GatewayLogTest, TextLinesCannotBeForgedByTheTextTheyCarry) {
  // A signer reports a history id with a newline and a line of its own after it.
  const std::string line =
      FormatLogLine(LogFormat::kText, LogLevel::kWarning,
                    "reports history x\ngateway: upstream evil eligible\r\x1b[2K \\x0a");
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line,
            "gateway: reports history x\\x0agateway: upstream evil eligible\\x0d\\x1b[2K "
            "\\x5cx0a");
}

TEST(GatewayLogTest, JsonLinesAreOneObjectEvenForHostileText) {
  // Quotes, a newline, a control byte and bytes that are not UTF-8 (a signer's or node's text can
  // reach a message): the line stays one parseable object on one line.
  const std::string message = std::string("said \"hi\"\nnext\x01 \xff\xfe end");
  const std::string line = FormatLogLine(LogFormat::kJson, LogLevel::kError, message);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const nlohmann::json parsed = nlohmann::json::parse(line, nullptr, false);
  ASSERT_TRUE(parsed.is_object()) << line;
  EXPECT_EQ(parsed["level"], "error");
  EXPECT_EQ(parsed["component"], "signer-gateway");
  const std::string time = parsed["time"];
  EXPECT_EQ(time.size(), 24u) << time;  // 2026-12-05T11:32:00.123Z
  EXPECT_EQ(time.back(), 'Z');
  const std::string text = parsed["message"];
  EXPECT_EQ(text.substr(0, 16), "said \"hi\"\nnext\x01 ");
  EXPECT_NE(text.find("\xef\xbf\xbd"), std::string::npos) << "invalid bytes become U+FFFD";
}

TEST(GatewayLogTest, TheConfigChoosesTheFormat) {
  const std::string pool =
      "listen: {unix_socket: s}\nstate_dir: d\nupstream_tls: {ca: a, cert: b, key: c}\n"
      "upstreams: [{name: x, address: \"a:1\"}]\n";
  auto json = ParseGatewayConfig(pool + "log_format: json\n", "");
  ASSERT_TRUE(json.ok()) << json.status().message();
  EXPECT_TRUE(json->log_json);
  auto text = ParseGatewayConfig(pool, "");
  ASSERT_TRUE(text.ok());
  EXPECT_FALSE(text->log_json);
  auto bad = ParseGatewayConfig(pool + "log_format: xml\n", "");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("log_format must be text or json"), std::string::npos);
}

}  // namespace
}  // namespace gateway
