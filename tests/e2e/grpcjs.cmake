# grpcjs_e2e: the npm @grpc/grpc-js client (tests/oracle/grpc_e2e.js) against a real signerd made by
# `signerctl dev init`; the script starts and stops signerd itself. Needs `npm ci` in tests/oracle.
find_program(NODE_EXECUTABLE NAMES node nodejs)
if(NOT NODE_EXECUTABLE)
  message(WARNING "node not found: the grpcjs_e2e test is not registered")
  return()
endif()
add_test(NAME grpcjs_e2e
         COMMAND ${NODE_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/oracle/grpc_e2e.js
                 --signerd $<TARGET_FILE:signerd> --signerctl $<TARGET_FILE:signerctl>
                 --proto ${PROJECT_SOURCE_DIR}/signer/proto/remote_keystore.proto
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}/tests/oracle)
set_tests_properties(grpcjs_e2e PROPERTIES TIMEOUT 180 LABELS e2e)

# grpcjs_gateway_e2e: the same client as the node beside signer-gateway (its Unix socket), the gateway
# forwarding to that signerd: every RemoteKeystore method through the gateway.
if(TARGET signer-gateway)
  add_test(NAME grpcjs_gateway_e2e
           COMMAND ${NODE_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/oracle/grpc_e2e.js
                   --signerd $<TARGET_FILE:signerd> --signerctl $<TARGET_FILE:signerctl>
                   --proto ${PROJECT_SOURCE_DIR}/signer/proto/remote_keystore.proto
                   --gateway $<TARGET_FILE:signer-gateway>
           WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}/tests/oracle)
  set_tests_properties(grpcjs_gateway_e2e PROPERTIES TIMEOUT 180 LABELS e2e)
endif()

# grpcjs_gateway_cluster_e2e: the same client as the node beside two signer-gateways pooling the three
# replicated signers of infra/dev/cluster.sh and one signer of another history: every method, the foreign
# history refused, refusals passed through, failover after SIGKILL, and a storm of conflicting votes through
# both gateways while the signer in use is killed.
if(TARGET signer-gateway AND TARGET kafka-dev-broker)
  add_test(NAME grpcjs_gateway_cluster_e2e
           COMMAND ${NODE_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/oracle/grpc_gateway_cluster_e2e.js
                   --signerd $<TARGET_FILE:signerd> --signerctl $<TARGET_FILE:signerctl>
                   --gateway $<TARGET_FILE:signer-gateway> --broker $<TARGET_FILE:kafka-dev-broker>
                   --cluster ${PROJECT_SOURCE_DIR}/infra/dev/cluster.sh
                   --proto ${PROJECT_SOURCE_DIR}/signer/proto/remote_keystore.proto
           WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}/tests/oracle)
  set_tests_properties(grpcjs_gateway_cluster_e2e PROPERTIES TIMEOUT 300 LABELS e2e)
endif()
