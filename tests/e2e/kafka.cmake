# kafka_cluster_test: three real signerd processes replicated through kafka-dev-broker (librdkafka's
# mock cluster, development and tests only), each with its own SoftHSM2 token, called over mTLS.
if(NOT TARGET kafka-dev-broker OR NOT TARGET signerctl)
  return()
endif()

add_executable(kafka_cluster_test kafka_cluster_test.cc)
signer_locations(kafka_cluster_test signerd $<TARGET_FILE:signerd> signerctl $<TARGET_FILE:signerctl>
                 kafka-dev-broker $<TARGET_FILE:kafka-dev-broker>)
target_link_libraries(kafka_cluster_test PRIVATE signerd_service test_support
                                                 nlohmann_json::nlohmann_json GTest::gtest_main)
add_dependencies(kafka_cluster_test signerd signerctl kafka-dev-broker)
# Each test starts its own broker and three signers (about 15 to 40 s each; the file stays under
# about 4 minutes). Registered by name rather than discovered, because gtest_discover_tests flattens
# a LABELS list and the tests need both labels; a test added to the file must be added here.
foreach(test_name
    StandaloneSignersTest.CheckerCatchesSeparateHistoriesSigningConflictingDigests
    KafkaClusterTest.ConflictingRequestsToAllSignersSignOneDigestPerPosition
    KafkaClusterTest.SigkilledSignersRestartAndCatchUpWhileTheStormGoesOn
    KafkaClusterTest.BrokersDownMeansUnavailableAndNoSignatureThenSigningResumes
    KafkaClusterTest.SignerStartedDuringABrokerOutageServesOnceTheBrokersReturn
    KafkaClusterTest.HistoryImportAndPruneThroughTheClaimsTopicReachEverySigner
    KafkaClusterTest.ApprovalOfMoreThanSixtyFourCandidatesIsSignedAndProtected
    KafkaClusterTest.AuditTailSeesEveryDecisionOfEverySignerWithIntactChains)
  add_test(NAME ${test_name} COMMAND kafka_cluster_test --gtest_filter=${test_name})
  set_tests_properties(${test_name} PROPERTIES TIMEOUT 150 LABELS "e2e;kafka" RUN_SERIAL TRUE)
endforeach()
