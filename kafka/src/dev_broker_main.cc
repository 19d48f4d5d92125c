// kafka-dev-broker: librdkafka's mock cluster in a process of its own, for development and tests
// only.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

namespace {

constexpr char kUsage[] =
    "kafka-dev-broker: a DEVELOPMENT AND TEST Kafka broker (librdkafka's in-process mock "
    "cluster).\n"
    "It keeps everything in memory, loses it on exit and offers no durability, security or\n"
    "replication. Production signers point `kafka.brokers` at a real Kafka cluster "
    "(docs/kafka.md).\n"
    "\n"
    "usage: kafka-dev-broker [--brokers N] [--claims-topic NAME] [--claims-partitions P]\n"
    "                        [--audit-topic NAME] [--audit-partitions P]\n"
    "  defaults: 3 brokers, signer-claims with 8 partitions, signer-audit with 3 partitions,\n"
    "  replication factor min(3, N). An empty topic name creates no topic.\n"
    "\n"
    "The first line on stdout is `kafka-dev-broker bootstrap=HOST:PORT[,...] (development and "
    "test\n"
    "only)`. Then one command per stdin line, one answer line each on stdout:\n"
    "  down ID | up ID | down all | up all   (broker IDs 1..N) -> `ok <command>` or `error "
    "<reason>`\n"
    "stdin closing does not stop the broker; SIGTERM or SIGINT does (exit 0).\n";

struct Options {
  int brokers = 3;
  std::string claims_topic = "signer-claims";
  int claims_partitions = 8;
  std::string audit_topic = "signer-audit";
  int audit_partitions = 3;
};

bool ParseCount(const std::string& text, int max, int& out) {
  if (text.empty() || text.size() > 6 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  const int value = std::stoi(text);
  if (value < 1 || value > max) return false;
  out = value;
  return true;
}

// ParseArgs returns 0 to run, 1 after --help, 2 on a usage error.
int ParseArgs(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::fputs(kUsage, stdout);
      return 1;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "kafka-dev-broker: %s needs a value\n%s", flag.c_str(), kUsage);
      return 2;
    }
    const std::string value = argv[++i];
    bool good = true;
    if (flag == "--brokers") {
      good = ParseCount(value, 64, options.brokers);
    } else if (flag == "--claims-topic") {
      options.claims_topic = value;
    } else if (flag == "--claims-partitions") {
      good = ParseCount(value, 1024, options.claims_partitions);
    } else if (flag == "--audit-topic") {
      options.audit_topic = value;
    } else if (flag == "--audit-partitions") {
      good = ParseCount(value, 1024, options.audit_partitions);
    } else {
      std::fprintf(stderr, "kafka-dev-broker: unknown option %s\n%s", flag.c_str(), kUsage);
      return 2;
    }
    if (!good) {
      std::fprintf(stderr, "kafka-dev-broker: bad value for %s: %s\n", flag.c_str(), value.c_str());
      return 2;
    }
  }
  return 0;
}

std::mutex g_cluster_mutex;  // commands and shutdown never touch the cluster at the same time

// Execute runs one command line and returns its answer line.
std::string Execute(rd_kafka_mock_cluster_t* cluster, int brokers, const std::string& line) {
  const size_t space = line.find(' ');
  if (space == std::string::npos)
    return "error expected `down ID`, `up ID`, `down all` or `up all`";
  const std::string verb = line.substr(0, space);
  const std::string target = line.substr(space + 1);
  if (verb != "down" && verb != "up") return "error unknown command " + verb;
  int first = 1;
  int last = brokers;
  if (target != "all") {
    int id = 0;
    if (!ParseCount(target, brokers, id)) {
      return "error broker id must be all or 1.." + std::to_string(brokers);
    }
    first = last = id;
  }
  std::lock_guard lock(g_cluster_mutex);
  for (int id = first; id <= last; ++id) {
    const rd_kafka_resp_err_t err = verb == "down" ? rd_kafka_mock_broker_set_down(cluster, id)
                                                   : rd_kafka_mock_broker_set_up(cluster, id);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return "error broker " + std::to_string(id) + ": " + rd_kafka_err2str(err);
    }
  }
  return "ok " + verb + " " + target;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (const int parsed = ParseArgs(argc, argv, options); parsed != 0) return parsed == 1 ? 0 : 2;

  // Block the stop signals before librdkafka starts its threads, so only sigwait below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a reader that went away must not kill the broker

  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "log_level", "3", error, sizeof(error)) != RD_KAFKA_CONF_OK) {
    std::fprintf(stderr, "kafka-dev-broker: %s\n", error);
    return 1;
  }
  // The handle only anchors the mock cluster; it never connects anywhere.
  rd_kafka_t* anchor = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
  if (anchor == nullptr) {
    std::fprintf(stderr, "kafka-dev-broker: %s\n", error);
    return 1;
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(anchor, options.brokers);
  if (cluster == nullptr) {
    std::fprintf(stderr, "kafka-dev-broker: cannot create the mock cluster\n");
    return 1;
  }
  const int replication_factor = options.brokers < 3 ? options.brokers : 3;
  const std::pair<const std::string*, int> topics[] = {
      {&options.claims_topic, options.claims_partitions},
      {&options.audit_topic, options.audit_partitions}};
  for (const auto& [name, partitions] : topics) {
    if (name->empty()) continue;
    const rd_kafka_resp_err_t err =
        rd_kafka_mock_topic_create(cluster, name->c_str(), partitions, replication_factor);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::fprintf(stderr, "kafka-dev-broker: cannot create topic %s: %s\n", name->c_str(),
                   rd_kafka_err2str(err));
      return 1;
    }
  }
  std::printf("kafka-dev-broker bootstrap=%s (development and test only)\n",
              rd_kafka_mock_cluster_bootstraps(cluster));
  std::fflush(stdout);
  std::fprintf(stderr,
               "kafka-dev-broker: DEVELOPMENT AND TEST broker, in memory only; %d brokers, topics "
               "%s (%d partitions), %s (%d partitions)\n",
               options.brokers, options.claims_topic.c_str(), options.claims_partitions,
               options.audit_topic.c_str(), options.audit_partitions);

  // The command reader may block in getline forever (stdin left open): it is detached, and the
  // process ends through _exit below without joining it.
  std::thread([cluster, brokers = options.brokers] {
    std::string line;
    while (std::getline(std::cin, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      const std::string answer = Execute(cluster, brokers, line);
      std::printf("%s\n", answer.c_str());
      std::fflush(stdout);
    }
  }).detach();

  int signal_number = 0;
  while (sigwait(&stop_signals, &signal_number) != 0) {
  }
  // The lock stays held until the process ends, so no command can reach the destroyed cluster.
  g_cluster_mutex.lock();
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(anchor);
  std::fflush(stdout);
  _exit(0);
}
