// Latency of one ed25519 GRANDPA prevote through the C++ gRPC client: one microsecond figure per
// call.
//
// Usage: ed25519_sign_latency_cpp TARGET PKI_DIR COUNT FIRST_ROUND [sign|lookup]
// TARGET is a signerd port on 127.0.0.1 (mutual TLS with PKI_DIR's validator-alice certificate) or
// unix:PATH (a signer-gateway's local socket, no TLS). `lookup` times Ed25519PublicKeys instead of
// SignWith. Calls are sequential on one channel; the first (connection) is not printed.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <grpcpp/grpcpp.h>

#include "remote_keystore.grpc.pb.h"

namespace pb = parity::polkadot::signer;

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

std::string Prevote(uint64_t round) {
  std::string vote(1, '\0');
  vote.append(32, '\x42');
  const uint32_t number = static_cast<uint32_t>(round);
  for (int i = 0; i < 4; ++i) vote.push_back(static_cast<char>(number >> (8 * i)));
  for (int i = 0; i < 8; ++i) vote.push_back(static_cast<char>(round >> (8 * i)));
  const uint64_t set_id = 1;
  for (int i = 0; i < 8; ++i) vote.push_back(static_cast<char>(set_id >> (8 * i)));
  return vote;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5 && argc != 6) {
    std::fprintf(
        stderr, "usage: ed25519_sign_latency_cpp TARGET PKI_DIR COUNT FIRST_ROUND [sign|lookup]\n");
    return 2;
  }
  const std::string target = argv[1];
  const bool lookup = argc == 6 && std::string(argv[5]) == "lookup";
  const std::string pki = argv[2];
  const uint64_t count = std::strtoull(argv[3], nullptr, 10);
  const uint64_t first_round = std::strtoull(argv[4], nullptr, 10);
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = ReadFile(pki + "/ca.crt");
  tls.pem_cert_chain = ReadFile(pki + "/validator-alice.crt");
  tls.pem_private_key = ReadFile(pki + "/validator-alice.key");
  grpc::ChannelArguments arguments;
  arguments.SetSslTargetNameOverride("localhost");
  auto channel =
      target.starts_with("unix:")
          ? grpc::CreateChannel(target, grpc::InsecureChannelCredentials())
          : grpc::CreateCustomChannel("127.0.0.1:" + target, grpc::SslCredentials(tls), arguments);
  auto stub = pb::RemoteKeystore::NewStub(channel);
  const std::string alice(
      "\x88\xdc\x34\x17\xd5\x05\x8e\xc4\xb4\x50\x3e\x0c\x12\xea\x1a\x0a"
      "\x89\xbe\x20\x0f\xe9\x89\x22\x42\x3d\x43\x34\x01\x4f\xa6\xb0\xee",
      32);
  for (uint64_t index = 0; index <= count; ++index) {
    if (lookup) {
      pb::Ed25519PublicKeysRequest request;
      request.set_key_type("gran");
      pb::Ed25519PublicKeysReply reply;
      grpc::ClientContext context;
      const auto started = std::chrono::steady_clock::now();
      const grpc::Status status = stub->Ed25519PublicKeys(&context, request, &reply);
      const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::steady_clock::now() - started)
                              .count();
      if (!status.ok() || reply.public_keys_size() == 0) {
        std::fprintf(stderr, "lookup: status %d %s\n", static_cast<int>(status.error_code()),
                     status.error_message().c_str());
        return 1;
      }
      if (index > 0) std::printf("%lld\n", static_cast<long long>(micros));
      continue;
    }
    pb::SignWithRequest request;
    request.set_key_type("gran");
    request.set_crypto_type("ed25519");
    request.set_public_key(alice);
    request.set_message(Prevote(first_round + index));
    pb::SignWithReply reply;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    const auto started = std::chrono::steady_clock::now();
    const grpc::Status status = stub->SignWith(&context, request, &reply);
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now() - started)
                            .count();
    if (!status.ok() || reply.signature().signature().size() != 64) {
      std::fprintf(stderr, "round %llu: status %d %s\n",
                   static_cast<unsigned long long>(first_round + index),
                   static_cast<int>(status.error_code()), status.error_message().c_str());
      return 1;
    }
    if (index > 0) std::printf("%lld\n", static_cast<long long>(micros));
  }
  return 0;
}
