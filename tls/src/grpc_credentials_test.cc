// Tests for tls/ grpc_credentials (being written).
