# signerd: generated RemoteKeystore API, the request pipeline (policy, audit), the daemon and their tests.
find_package(Protobuf REQUIRED)
find_package(gRPC CONFIG REQUIRED)
find_package(spdlog REQUIRED)

# The API is generated once into one library; everything else links it instead of regenerating.
set(signerd_proto ${CMAKE_CURRENT_SOURCE_DIR}/proto/remote_keystore.proto)
set(signerd_gen_dir ${CMAKE_CURRENT_BINARY_DIR}/proto_gen)
set(signerd_gen_sources
  ${signerd_gen_dir}/remote_keystore.pb.cc
  ${signerd_gen_dir}/remote_keystore.grpc.pb.cc)
add_custom_command(
  OUTPUT ${signerd_gen_sources}
         ${signerd_gen_dir}/remote_keystore.pb.h
         ${signerd_gen_dir}/remote_keystore.grpc.pb.h
  COMMAND ${CMAKE_COMMAND} -E make_directory ${signerd_gen_dir}
  COMMAND protobuf::protoc
          --proto_path=${CMAKE_CURRENT_SOURCE_DIR}/proto
          --cpp_out=${signerd_gen_dir}
          --grpc_out=${signerd_gen_dir}
          --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>
          ${signerd_proto}
  DEPENDS ${signerd_proto}
  COMMENT "Generating the RemoteKeystore gRPC API"
  VERBATIM)
add_library(signer_api STATIC ${signerd_gen_sources})
# Generated code is not ours to fix: include it as a system directory and relax our warnings on it.
target_include_directories(signer_api SYSTEM PUBLIC ${signerd_gen_dir})
target_compile_options(signer_api PRIVATE -w)
target_link_libraries(signer_api PUBLIC protobuf::libprotobuf gRPC::grpc++)

# The pipeline and everything it needs except gRPC: policy, audit log, the fixed request order.
add_library(signerd_core STATIC
  src/audit_field.cc
  src/audit_log.cc
  src/pipeline_core.cc
  src/policy_file.cc
)
target_include_directories(signerd_core PUBLIC src)
target_link_libraries(signerd_core PUBLIC signer keymgr slashing PRIVATE yaml-cpp nlohmann_json::nlohmann_json)
# The fuzz build stops here: it fuzzes signer_api messages through signerd_core (tests/fuzz).
if(SIGNER_FUZZ)
  return()
endif()

# `signerctl audit verify` uses the same verifier as signerd's writer.
target_link_libraries(signerctl PRIVATE signerd_core)

# The gRPC service (callback API, admission, worker pool) and the daemon.
# civetweb serves the Prometheus /metrics page; replication.cc picks standalone or Kafka mode.
# (Debian's civetweb CMake package names a server binary the -dev package does not ship, so the
# library is found directly.)
find_library(CIVETWEB_LIBRARY civetweb REQUIRED)
find_path(CIVETWEB_INCLUDE_DIR civetweb.h REQUIRED)
add_library(signerd_service STATIC
  src/metrics.cc
  src/metrics_http.cc
  src/replication.cc
  src/service_grpc.cc
)
target_link_libraries(signerd_service PUBLIC signerd_core signer_api signer_tls
                                      PRIVATE ${CIVETWEB_LIBRARY})
target_include_directories(signerd_service SYSTEM PRIVATE ${CIVETWEB_INCLUDE_DIR})
if(TARGET signer_kafka)
  target_link_libraries(signerd_service PRIVATE signer_kafka)
endif()

add_executable(signerd src/signerd_main.cc)
target_link_libraries(signerd PRIVATE signerd_service spdlog::spdlog)

if(SIGNER_TESTS)
  add_executable(signerd_test
    src/audit_cli_test.cc
    src/audit_field_test.cc
    src/audit_log_test.cc
    src/metrics_test.cc
    src/pipeline_test.cc
    src/policy_test.cc
    src/service_test.cc
  )
  # For slashing's test_payloads.h (real BABE payloads in the shared-key pipeline tests).
  target_include_directories(signerd_test PRIVATE ${PROJECT_SOURCE_DIR}/slashing/src)
  target_link_libraries(signerd_test PRIVATE signerd_service nlohmann_json::nlohmann_json
                                             GTest::gtest_main)
  target_compile_definitions(signerd_test PRIVATE SIGNERCTL_PATH="$<TARGET_FILE:signerctl>")
  add_dependencies(signerd_test signerctl)
  gtest_discover_tests(signerd_test DISCOVERY_TIMEOUT 60)
endif()
