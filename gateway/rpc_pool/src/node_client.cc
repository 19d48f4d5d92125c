// JSON-RPC calls to the node over HTTP with libcurl, one connection per call under one timeout.
#include "rpc_pool/node_client.h"

#include <curl/curl.h>

#include <memory>

namespace rpc_pool {
namespace {

using base::Result;
using base::Status;

// AnswerBody collects the answer up to kMaxNodeAnswerBytes; past that the transfer is ended.
struct AnswerBody {
  std::string data;
  bool too_long = false;
};

size_t AppendToBody(char* bytes, size_t size, size_t count, void* user) {
  auto* body = static_cast<AnswerBody*>(user);
  const size_t length = size * count;
  if (body->data.size() + length > kMaxNodeAnswerBytes) {
    body->too_long = true;
    return 0;  // libcurl ends the transfer with CURLE_WRITE_ERROR
  }
  body->data.append(bytes, length);
  return length;
}

// NodeUrl is http://HOST:PORT/, with an IPv6 address in brackets.
std::string NodeUrl(const NodeClientOptions& options) {
  const bool bare_ipv6 = options.host.find(':') != std::string::npos && options.host.front() != '[';
  return "http://" + (bare_ipv6 ? "[" + options.host + "]" : options.host) + ":" +
         std::to_string(options.port) + "/";
}

struct CurlDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct HeaderListDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

}  // namespace

Result<std::string> NodeRpcClient::Call(uint64_t id, std::string_view method,
                                        std::string_view params_json) const {
  const std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return Status::Internal("libcurl could not make a handle");
  const std::unique_ptr<curl_slist, HeaderListDeleter> headers(
      curl_slist_append(nullptr, "Content-Type: application/json"));
  if (!headers) return Status::Internal("libcurl could not make a header list");
  const std::string url = NodeUrl(options_);
  const std::string body = JsonRpcRequest(id, method, params_json);
  AnswerBody answer;
  const long timeout_ms = static_cast<long>(options_.timeout.count());
  CURL* handle = curl.get();
  // Plain HTTP to one address and nothing else: no redirects, no proxy from the environment, no
  // other protocol, no signals (the daemon's threads own them).
  const bool configured =
      curl_easy_setopt(handle, CURLOPT_URL, url.c_str()) == CURLE_OK &&
      curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http") == CURLE_OK &&
      curl_easy_setopt(handle, CURLOPT_NOPROXY, "*") == CURLE_OK &&
      curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
      curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
      curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, timeout_ms) == CURLE_OK &&
      curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get()) == CURLE_OK &&
      curl_easy_setopt(handle, CURLOPT_POSTFIELDS, body.c_str()) == CURLE_OK &&
      curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size())) ==
          CURLE_OK &&
      curl_easy_setopt(handle, CURLOPT_MAXFILESIZE_LARGE,
                       static_cast<curl_off_t>(kMaxNodeAnswerBytes)) == CURLE_OK &&
      curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, AppendToBody) == CURLE_OK &&
      curl_easy_setopt(handle, CURLOPT_WRITEDATA, &answer) == CURLE_OK;
  if (!configured) return Status::Internal("libcurl refused an option");

  const CURLcode result = curl_easy_perform(handle);
  const std::string what = "the node at " + url + " (" + std::string(method) + ")";
  if (answer.too_long || result == CURLE_FILESIZE_EXCEEDED) {
    return Status::InvalidArgument("the answer of " + what + " is over " +
                                   std::to_string(kMaxNodeAnswerBytes) + " bytes");
  }
  if (result == CURLE_OPERATION_TIMEDOUT) {
    return Status::Unavailable(what + " did not answer in time");
  }
  if (result != CURLE_OK) {
    return Status::Unavailable(what + ": " + curl_easy_strerror(result));
  }
  long code = 0;
  if (curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK || code != 200) {
    return Status::InvalidArgument(what + " answered HTTP " + std::to_string(code));
  }
  return std::move(answer.data);
}

Result<NodeStatus> NodeRpcClient::Poll() const {
  NodeStatus status;
  SIGNER_ASSIGN_OR_RETURN(const std::string health, Call(1, "system_health", "[]"));
  SIGNER_ASSIGN_OR_RETURN(status.health, ParseHealth(health, 1));
  // Finalized first, best second: the node only moves forward, so a finalized block above the
  // best block read after it is a lie, not a race.
  SIGNER_ASSIGN_OR_RETURN(const std::string head, Call(2, "chain_getFinalizedHead", "[]"));
  SIGNER_ASSIGN_OR_RETURN(const std::string finalized_hash, ParseBlockHash(head, 2));
  // The hash was checked to be 0x and hex, so it is safe inside the JSON array.
  SIGNER_ASSIGN_OR_RETURN(const std::string finalized,
                          Call(3, "chain_getHeader", "[\"" + finalized_hash + "\"]"));
  SIGNER_ASSIGN_OR_RETURN(status.finalized_block, ParseBlockNumberFromHeader(finalized, 3));
  SIGNER_ASSIGN_OR_RETURN(const std::string best, Call(4, "chain_getHeader", "[]"));
  SIGNER_ASSIGN_OR_RETURN(status.best_block, ParseBlockNumberFromHeader(best, 4));
  SIGNER_ASSIGN_OR_RETURN(const std::string version, Call(5, "system_version", "[]"));
  SIGNER_ASSIGN_OR_RETURN(status.version, ParseVersion(version, 5));
  if (status.finalized_block > status.best_block) {
    return Status::InvalidArgument("the node reports finalized above best");
  }
  return status;
}

}  // namespace rpc_pool
