// kafka-dev-broker keeps its contract: first line, topics, down/up commands, stdin EOF, SIGTERM.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>

#include <chrono>
#include <string>
#include <thread>

#include "support/dev_broker.h"
#include "support/process.h"

namespace {

// How long the broker gets to answer a command.
constexpr std::chrono::seconds kAnswerTimeout{60};

// Command sends one command line to the broker and returns its one-line answer.
std::string Command(support::ChildProcess& broker, const std::string& command) {
  if (!broker.Write(command + "\n").ok()) return "<write>";
  return broker.ReadLine(kAnswerTimeout).value_or("<eof>");
}

// PartitionCount asks the brokers for a topic's partitions; -1 if they do not answer in time.
int PartitionCount(const std::string& bootstrap, const char* topic, int timeout_ms) {
  char error[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), error, sizeof(error));
  rd_kafka_conf_set(conf, "log_level", "0", error, sizeof(error));
  rd_kafka_conf_set(conf, "allow.auto.create.topics", "false", error, sizeof(error));
  rd_kafka_t* client = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof(error));
  rd_kafka_topic_t* handle = rd_kafka_topic_new(client, topic, nullptr);
  const rd_kafka_metadata_t* metadata = nullptr;
  int count = -1;
  if (rd_kafka_metadata(client, 0, handle, &metadata, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (metadata->topic_cnt == 1 && metadata->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      count = metadata->topics[0].partition_cnt;
    }
    rd_kafka_metadata_destroy(metadata);
  }
  rd_kafka_topic_destroy(handle);
  rd_kafka_destroy(client);
  return count;
}

TEST(DevBrokerTest, KeepsTheContract) {
  // StartDevBroker fails unless the first line is the bootstrap line the contract describes.
  auto started = support::StartDevBroker({"--claims-partitions", "5"});
  ASSERT_TRUE(started.ok()) << started.status().message();
  support::ChildProcess& broker = started->process;
  const std::string& bootstrap = started->bootstrap;
  EXPECT_EQ(bootstrap.rfind("127.0.0.1:", 0), 0u) << bootstrap;

  EXPECT_EQ(PartitionCount(bootstrap, "signer-claims", 10'000), 5);
  EXPECT_EQ(PartitionCount(bootstrap, "signer-audit", 10'000), 3);

  EXPECT_EQ(Command(broker, "down 1"), "ok down 1");
  EXPECT_EQ(Command(broker, "up 1"), "ok up 1");
  EXPECT_EQ(Command(broker, "down 4").rfind("error ", 0), 0u);
  EXPECT_EQ(Command(broker, "jump 1").rfind("error ", 0), 0u);
  EXPECT_EQ(Command(broker, "down").rfind("error ", 0), 0u);

  EXPECT_EQ(Command(broker, "down all"), "ok down all");
  EXPECT_EQ(PartitionCount(bootstrap, "signer-claims", 1'000), -1) << "brokers still answer";
  EXPECT_EQ(Command(broker, "up all"), "ok up all");
  EXPECT_EQ(PartitionCount(bootstrap, "signer-claims", 10'000), 5);

  // stdin closing does not stop it; SIGTERM does, with exit status 0.
  broker.CloseStdin();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(broker.Running()) << "the broker exited when stdin closed";
  EXPECT_EQ(PartitionCount(bootstrap, "signer-audit", 10'000), 3);
  EXPECT_EQ(broker.Stop(SIGTERM), 0);
}

}  // namespace
