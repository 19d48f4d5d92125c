// The HAProxy runtime client against a real HAProxy on Unix sockets in a temporary directory.
#include "rpc_pool/haproxy_runtime.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>

#include "base/file_descriptor.h"
#include "support/locations.h"
#include "support/temp_dir.h"
#include "testing/haproxy_process.h"

namespace rpc_pool {
namespace {

using base::StatusCode;
using testing::HaproxyProcess;
using testing::HttpGetOverUnixSocket;

// Config is the pool's data path in miniature, all on Unix sockets: frontend "rpc" balances
// backend "nodes" over servers a and b, which are two more frontends of the same HAProxy that
// answer with their own name, so a response says which server took it.
std::string Config(const support::TempDir& dir) {
  const std::string a = dir.Path("node-a.sock");
  const std::string b = dir.Path("node-b.sock");
  return "defaults\n"
         "  mode http\n"
         "  timeout connect 2s\n"
         "  timeout client 10s\n"
         "  timeout server 10s\n"
         "frontend rpc\n"
         "  bind unix@" +
         dir.Path("rpc.sock") +
         "\n"
         "  default_backend nodes\n"
         "backend nodes\n"
         "  balance roundrobin\n"
         "  server a unix@" +
         a +
         " weight 10\n"
         "  server b unix@" +
         b +
         " weight 20\n"
         "frontend node_a\n"
         "  bind unix@" +
         a +
         "\n"
         "  http-request return status 200 content-type text/plain string served-by-a\n"
         "frontend node_b\n"
         "  bind unix@" +
         b +
         "\n"
         "  http-request return status 200 content-type text/plain string served-by-b\n";
}

class HaproxyRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = HaproxyProcess::Start(support::Location("haproxy"), dir_.path(), Config(dir_));
    ASSERT_TRUE(started.ok()) << started.status().message();
    haproxy_.emplace(std::move(started).value());
    runtime_.emplace(haproxy_->admin_socket());
  }

  std::map<std::string, ServerState> States() {
    auto states = runtime_->ShowServersState("nodes");
    EXPECT_TRUE(states.ok()) << states.status().message();
    std::map<std::string, ServerState> by_name;
    if (states.ok()) {
      for (ServerState& state : *states) by_name[state.server] = state;
    }
    return by_name;
  }

  // ServedBy sends `count` requests through the frontend and counts which server answered.
  std::map<std::string, int> ServedBy(int count) {
    std::map<std::string, int> served;
    for (int i = 0; i < count; ++i) {
      auto response = HttpGetOverUnixSocket(dir_.Path("rpc.sock"), "/");
      EXPECT_TRUE(response.ok()) << response.status().message();
      if (!response.ok()) break;
      if (response->find("served-by-a") != std::string::npos) {
        ++served["a"];
      } else if (response->find("served-by-b") != std::string::npos) {
        ++served["b"];
      } else {
        ++served["other"];
      }
    }
    return served;
  }

  support::TempDir dir_{"rpc-pool-haproxy"};
  std::optional<HaproxyProcess> haproxy_;
  std::optional<HaproxyRuntime> runtime_;
};

TEST_F(HaproxyRuntimeTest, ReadsServersTheirStateAndCounters) {
  auto stats = runtime_->ShowStat("nodes");
  ASSERT_TRUE(stats.ok()) << stats.status().message();
  ASSERT_EQ(stats->size(), 2u);
  EXPECT_EQ((*stats)[0].server, "a");
  EXPECT_EQ((*stats)[0].weight, 10u);
  EXPECT_EQ((*stats)[1].server, "b");
  EXPECT_EQ((*stats)[1].weight, 20u);
  EXPECT_EQ((*stats)[0].selected + (*stats)[1].selected, 0u);

  EXPECT_EQ(ServedBy(6), (std::map<std::string, int>{{"a", 2}, {"b", 4}}));
  stats = runtime_->ShowStat("nodes");
  ASSERT_TRUE(stats.ok()) << stats.status().message();
  EXPECT_EQ((*stats)[0].selected, 2u);
  EXPECT_EQ((*stats)[1].selected, 4u);
  EXPECT_EQ((*stats)[0].sessions, 2u);
  EXPECT_EQ((*stats)[1].sessions, 4u);

  const auto states = States();
  ASSERT_EQ(states.size(), 2u);
  EXPECT_EQ(states.at("a").user_weight, 10u);
  EXPECT_EQ(states.at("a").operational_state, 2u);  // running
  EXPECT_FALSE(states.at("a").InMaintenance());
  EXPECT_FALSE(states.at("a").Draining());
}

TEST_F(HaproxyRuntimeTest, StateAndWeightReshapeTraffic) {
  ASSERT_TRUE(runtime_->SetServerState("nodes", "a", ServerAdminState::kMaint).ok());
  EXPECT_TRUE(States().at("a").InMaintenance());
  EXPECT_EQ(ServedBy(4), (std::map<std::string, int>{{"b", 4}}));

  ASSERT_TRUE(runtime_->SetServerState("nodes", "a", ServerAdminState::kReady).ok());
  ASSERT_TRUE(runtime_->SetServerState("nodes", "b", ServerAdminState::kDrain).ok());
  EXPECT_TRUE(States().at("b").Draining());
  EXPECT_FALSE(States().at("a").InMaintenance());
  EXPECT_EQ(ServedBy(4), (std::map<std::string, int>{{"a", 4}}));

  ASSERT_TRUE(runtime_->SetServerState("nodes", "b", ServerAdminState::kReady).ok());
  ASSERT_TRUE(runtime_->SetServerWeight("nodes", "a", 30).ok());
  ASSERT_TRUE(runtime_->SetServerWeight("nodes", "b", 10).ok());
  EXPECT_EQ(States().at("a").user_weight, 30u);
  EXPECT_EQ(ServedBy(8), (std::map<std::string, int>{{"a", 6}, {"b", 2}}));

  ASSERT_TRUE(runtime_->DisableServer("nodes", "b").ok());
  EXPECT_TRUE(States().at("b").InMaintenance());
  ASSERT_TRUE(runtime_->EnableServer("nodes", "b").ok());
  EXPECT_FALSE(States().at("b").InMaintenance());
}

TEST_F(HaproxyRuntimeTest, AddsAndDeletesDynamicServers) {
  ASSERT_TRUE(runtime_->AddServer("nodes", "node-7", "127.0.0.1:9944", 5).ok());
  auto states = States();
  ASSERT_TRUE(states.contains("node-7"));
  EXPECT_EQ(states.at("node-7").address, "127.0.0.1");
  EXPECT_EQ(states.at("node-7").port, 9944);
  EXPECT_EQ(states.at("node-7").user_weight, 5u);
  // HAProxy adds a server in maintenance: it takes no traffic until enabled.
  EXPECT_TRUE(states.at("node-7").InMaintenance());

  EXPECT_EQ(runtime_->AddServer("nodes", "node-7", "127.0.0.1:9945", 5).code(),
            StatusCode::kFailedPrecondition);
  ASSERT_TRUE(runtime_->EnableServer("nodes", "node-7").ok());
  EXPECT_FALSE(States().at("node-7").InMaintenance());
  // Only a server in maintenance may be deleted.
  EXPECT_EQ(runtime_->DeleteServer("nodes", "node-7").code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(runtime_->DisableServer("nodes", "node-7").ok());
  ASSERT_TRUE(runtime_->DeleteServer("nodes", "node-7").ok());
  EXPECT_FALSE(States().contains("node-7"));
  EXPECT_EQ(runtime_->DeleteServer("nodes", "node-7").code(), StatusCode::kNotFound);
}

TEST_F(HaproxyRuntimeTest, RefusesBadInputWithAClearKind) {
  struct Row {
    const char* name;
    base::Status status;
    StatusCode code;
  };
  const HaproxyRuntime& runtime = *runtime_;
  const std::vector<Row> rows = {
      {"unknown backend", runtime.SetServerState("nope", "a", ServerAdminState::kMaint),
       StatusCode::kNotFound},
      {"unknown server", runtime.SetServerState("nodes", "zz", ServerAdminState::kMaint),
       StatusCode::kNotFound},
      {"unknown server's weight", runtime.SetServerWeight("nodes", "zz", 1), StatusCode::kNotFound},
      {"show stat of an unknown backend", runtime.ShowStat("nope").status(), StatusCode::kNotFound},
      {"weight over 256", runtime.SetServerWeight("nodes", "a", 257), StatusCode::kInvalidArgument},
      {"a second command smuggled in a name",
       runtime.SetServerState("nodes", "a;shutdown", ServerAdminState::kMaint),
       StatusCode::kInvalidArgument},
      {"a space in a name", runtime.EnableServer("nodes", "a b"), StatusCode::kInvalidArgument},
      {"an empty name", runtime.DisableServer("", "a"), StatusCode::kInvalidArgument},
      {"an address with options", runtime.AddServer("nodes", "n", "1.2.3.4:80 backup", 1),
       StatusCode::kInvalidArgument},
      {"a raw command with ';'", runtime.Execute("show info;shutdown").status(),
       StatusCode::kInvalidArgument},
      {"a raw command with a newline", runtime.Execute("show info\nshow stat").status(),
       StatusCode::kInvalidArgument},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    EXPECT_EQ(row.status.code(), row.code) << row.status.message();
  }
  // Nothing of the above changed the servers.
  const auto states = States();
  EXPECT_FALSE(states.at("a").InMaintenance());
  EXPECT_EQ(states.at("a").user_weight, 10u);
  EXPECT_TRUE(haproxy_->process().Running());
}

TEST_F(HaproxyRuntimeTest, AnAnswerOverTheLimitIsRefused) {
  HaproxyRuntimeOptions options;
  options.max_response_bytes = 100;
  const HaproxyRuntime small(haproxy_->admin_socket(), options);
  EXPECT_EQ(small.ShowStat("nodes").status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(runtime_->ShowStat("nodes").ok());
}

TEST(HaproxyRuntimeDeadSocketTest, NoListenerIsUnavailable) {
  const support::TempDir dir("rpc-pool-dead");
  const HaproxyRuntime runtime(dir.Path("missing.sock"));
  EXPECT_EQ(runtime.ShowStat("nodes").status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(runtime.EnableServer("nodes", "a").code(), StatusCode::kUnavailable);
}

TEST(HaproxyRuntimeDeadSocketTest, AListenerThatNeverAnswersTimesOut) {
  const support::TempDir dir("rpc-pool-silent");
  const std::string path = dir.Path("silent.sock");
  // A listening socket nobody accepts on: the connection waits in the backlog, unanswered.
  base::FileDescriptor listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_GE(listener.get(), 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(listener.get(), 4), 0);
  HaproxyRuntimeOptions options;
  options.timeout = std::chrono::milliseconds(200);
  const HaproxyRuntime runtime(path, options);
  const auto answer = runtime.Execute("show info");
  EXPECT_EQ(answer.status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace rpc_pool
