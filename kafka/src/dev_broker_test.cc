// kafka-dev-broker keeps its contract: first line, topics, down/up commands, stdin EOF, SIGTERM.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

namespace {

// Broker runs kafka-dev-broker with pipes on its stdin and stdout.
class Broker {
 public:
  Broker() {
    int to_child[2];
    int from_child[2];
    if (pipe(to_child) != 0 || pipe(from_child) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(to_child[0], 0);
      dup2(from_child[1], 1);
      close(to_child[1]);
      close(from_child[0]);
      execl(KAFKA_DEV_BROKER_PATH, KAFKA_DEV_BROKER_PATH, "--claims-partitions", "5", nullptr);
      _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    stdin_ = to_child[1];
    stdout_ = fdopen(from_child[0], "r");
  }
  ~Broker() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (stdout_) fclose(stdout_);
    CloseStdin();
  }

  std::string ReadLine() {
    char buffer[4096];
    if (stdout_ == nullptr || fgets(buffer, sizeof(buffer), stdout_) == nullptr) return "<eof>";
    std::string line = buffer;
    if (!line.empty() && line.back() == '\n') line.pop_back();
    return line;
  }
  std::string Command(const std::string& command) {
    const std::string line = command + "\n";
    if (write(stdin_, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
      return "<write>";
    return ReadLine();
  }
  void CloseStdin() {
    if (stdin_ >= 0) close(stdin_);
    stdin_ = -1;
  }
  // Stop sends SIGTERM and returns the exit status (-1 unless it exited normally).
  int Stop() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  FILE* stdout_ = nullptr;
};

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
  Broker broker;
  ASSERT_GT(broker.pid(), 0);
  const std::string first = broker.ReadLine();
  const std::string prefix = "kafka-dev-broker bootstrap=";
  const std::string suffix = " (development and test only)";
  ASSERT_EQ(first.rfind(prefix, 0), 0u) << first;
  ASSERT_GT(first.size(), prefix.size() + suffix.size());
  ASSERT_EQ(first.substr(first.size() - suffix.size()), suffix) << first;
  const std::string bootstrap =
      first.substr(prefix.size(), first.size() - prefix.size() - suffix.size());
  EXPECT_EQ(bootstrap.rfind("127.0.0.1:", 0), 0u) << bootstrap;

  EXPECT_EQ(PartitionCount(bootstrap, "signer-claims", 10'000), 5);
  EXPECT_EQ(PartitionCount(bootstrap, "signer-audit", 10'000), 3);

  EXPECT_EQ(broker.Command("down 1"), "ok down 1");
  EXPECT_EQ(broker.Command("up 1"), "ok up 1");
  EXPECT_EQ(broker.Command("down 4").rfind("error ", 0), 0u);
  EXPECT_EQ(broker.Command("jump 1").rfind("error ", 0), 0u);
  EXPECT_EQ(broker.Command("down").rfind("error ", 0), 0u);

  EXPECT_EQ(broker.Command("down all"), "ok down all");
  EXPECT_EQ(PartitionCount(bootstrap, "signer-claims", 1'000), -1) << "brokers still answer";
  EXPECT_EQ(broker.Command("up all"), "ok up all");
  EXPECT_EQ(PartitionCount(bootstrap, "signer-claims", 10'000), 5);

  // stdin closing does not stop it; SIGTERM does, with exit status 0.
  broker.CloseStdin();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(kill(broker.pid(), 0), 0) << "the broker exited when stdin closed";
  EXPECT_EQ(PartitionCount(bootstrap, "signer-audit", 10'000), 3);
  EXPECT_EQ(broker.Stop(), 0);
}

}  // namespace
