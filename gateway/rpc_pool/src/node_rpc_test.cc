// Parsing the node's JSON-RPC answers: the shapes Substrate nodes send, and everything else refused
// with a clear kind.
#include "rpc_pool/node_rpc.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace rpc_pool {
namespace {

using base::StatusCode;

TEST(NodeRpcTest, RendersRequests) {
  const nlohmann::json request = nlohmann::json::parse(JsonRpcRequest(7, "chain_getHeader", "[]"));
  EXPECT_EQ(request, nlohmann::json::parse(
                         R"({"jsonrpc":"2.0","id":7,"method":"chain_getHeader","params":[]})"));
}

TEST(NodeRpcTest, ReadsWhatANodeSends) {
  auto health = ParseHealth(
      R"({"jsonrpc":"2.0","id":1,"result":{"peers":25,"isSyncing":false,"shouldHavePeers":true}})",
      1);
  ASSERT_TRUE(health.ok()) << health.status().message();
  EXPECT_EQ(health->peers, 25u);
  EXPECT_FALSE(health->is_syncing);
  EXPECT_TRUE(health->should_have_peers);

  auto number = ParseBlockNumberFromHeader(
      R"({"jsonrpc":"2.0","id":2,"result":{"parentHash":"0x00","number":"0x1a2b3c","stateRoot":"0x00","extrinsicsRoot":"0x00","digest":{"logs":[]}}})",
      2);
  ASSERT_TRUE(number.ok()) << number.status().message();
  EXPECT_EQ(*number, 0x1a2b3cu);

  const std::string hash = "0x" + std::string(64, 'a');
  auto parsed_hash = ParseBlockHash(R"({"jsonrpc":"2.0","id":3,"result":")" + hash + R"("})", 3);
  ASSERT_TRUE(parsed_hash.ok());
  EXPECT_EQ(*parsed_hash, hash);

  auto version = ParseVersion(R"({"jsonrpc":"2.0","id":4,"result":"1.9.0-abcdef12"})", 4);
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, "1.9.0-abcdef12");
}

TEST(NodeRpcTest, RefusesMalformedAnswers) {
  struct Row {
    const char* name;
    std::string answer;
    StatusCode code;
  };
  const auto header = [](const std::string& number_json) {
    return R"({"jsonrpc":"2.0","id":9,"result":{"number":)" + number_json + "}}";
  };
  const std::vector<Row> rows = {
      {"not JSON", "{", StatusCode::kInvalidArgument},
      {"not an object", "[]", StatusCode::kInvalidArgument},
      {"no version", R"({"id":9,"result":{"number":"0x1"}})", StatusCode::kInvalidArgument},
      {"version 1.0", R"({"jsonrpc":"1.0","id":9,"result":{"number":"0x1"}})",
       StatusCode::kInvalidArgument},
      {"another id", R"({"jsonrpc":"2.0","id":8,"result":{"number":"0x1"}})",
       StatusCode::kInvalidArgument},
      {"id as a string", R"({"jsonrpc":"2.0","id":"9","result":{"number":"0x1"}})",
       StatusCode::kInvalidArgument},
      {"no result", R"({"jsonrpc":"2.0","id":9})", StatusCode::kInvalidArgument},
      {"a JSON-RPC error",
       R"({"jsonrpc":"2.0","id":9,"error":{"code":-32601,"message":"Method not found"}})",
       StatusCode::kUnavailable},
      {"result not a header", R"({"jsonrpc":"2.0","id":9,"result":"0x1"})",
       StatusCode::kInvalidArgument},
      {"number as a JSON number", header("5"), StatusCode::kInvalidArgument},
      {"number without 0x", header(R"("1a")"), StatusCode::kInvalidArgument},
      {"number 0x alone", header(R"("0x")"), StatusCode::kInvalidArgument},
      {"number not hex", header(R"("0x1g")"), StatusCode::kInvalidArgument},
      {"number over 64 bits", header(R"("0x10000000000000000")"), StatusCode::kInvalidArgument},
      {"number with a sign", header(R"("0x-1")"), StatusCode::kInvalidArgument},
      {"deep nesting", std::string(64, '[') + std::string(64, ']'), StatusCode::kInvalidArgument},
      {"oversized",
       R"({"jsonrpc":"2.0","id":9,"result":{"number":"0x1","pad":")" +
           std::string(kMaxNodeAnswerBytes, 'x') + "\"}}",
       StatusCode::kInvalidArgument},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    EXPECT_EQ(ParseBlockNumberFromHeader(row.answer, 9).status().code(), row.code);
  }
  // The largest number that fits is read exactly.
  auto largest = ParseBlockNumberFromHeader(header(R"("0xffffffffffffffff")"), 9);
  ASSERT_TRUE(largest.ok());
  EXPECT_EQ(*largest, UINT64_MAX);
}

TEST(NodeRpcTest, RefusesMalformedHealthHashesAndVersions) {
  const auto answer = [](const std::string& result_json) {
    return R"({"jsonrpc":"2.0","id":1,"result":)" + result_json + "}";
  };
  for (const std::string& health :
       {std::string(R"({"peers":-1,"isSyncing":false,"shouldHavePeers":true})"),
        std::string(R"({"peers":4294967296,"isSyncing":false,"shouldHavePeers":true})"),
        std::string(R"({"peers":3,"isSyncing":"no","shouldHavePeers":true})"),
        std::string(R"({"peers":3,"isSyncing":false})"), std::string("[]")}) {
    SCOPED_TRACE(health);
    EXPECT_EQ(ParseHealth(answer(health), 1).status().code(), StatusCode::kInvalidArgument);
  }
  for (const std::string& hash :
       {"\"0x" + std::string(63, 'a') + "\"", "\"0x" + std::string(64, 'g') + "\"",
        "\"" + std::string(66, 'a') + "\"", std::string("5")}) {
    SCOPED_TRACE(hash);
    EXPECT_EQ(ParseBlockHash(answer(hash), 1).status().code(), StatusCode::kInvalidArgument);
  }
  for (const std::string& version : {std::string(R"("")"), std::string(R"("a\nb")"),
                                     "\"" + std::string(257, 'v') + "\"", std::string("1")}) {
    SCOPED_TRACE(version);
    EXPECT_EQ(ParseVersion(answer(version), 1).status().code(), StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace rpc_pool
