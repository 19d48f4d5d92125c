// StartCivetwebListener: civetweb's options, start and bound port, in one place.
#include "metrics/civetweb_listener.h"

#include <civetweb.h>

#include <array>

namespace signer {

base::Result<CivetwebListener> StartCivetwebListener(const CivetwebListenerOptions& options) {
  const std::string threads = std::to_string(options.threads);
  const std::string backlog = std::to_string(options.backlog);
  const std::array<const char*, 11> configuration = {"listening_ports",
                                                     options.address.c_str(),
                                                     "num_threads",
                                                     threads.c_str(),
                                                     "enable_keep_alive",
                                                     "no",
                                                     "request_timeout_ms",
                                                     "10000",
                                                     "listen_backlog",
                                                     backlog.c_str(),
                                                     nullptr};
  mg_callbacks callbacks{};
  callbacks.log_message = options.log;
  mg_init_data init{};
  init.callbacks = &callbacks;
  init.user_data = options.user_data;
  init.configuration_options = const_cast<const char**>(configuration.data());
  std::array<char, 256> error_text{};
  unsigned error_code = 0;
  mg_error_data error{};
  error.code = &error_code;
  error.text = error_text.data();
  error.text_buffer_size = error_text.size();
  CivetwebListener listener;
  listener.context = mg_start2(&init, &error);
  if (listener.context == nullptr) return base::Status::Unavailable(error_text.data());
  mg_set_request_handler(listener.context, "/", options.handler, options.user_data);
  std::array<mg_server_port, 4> ports{};
  const int count =
      mg_get_server_ports(listener.context, static_cast<int>(ports.size()), ports.data());
  if (count < 1 || ports[0].port <= 0) {
    mg_stop(listener.context);
    return base::Status::Unavailable("no bound port");
  }
  listener.port = ports[0].port;
  return listener;
}

}  // namespace signer
