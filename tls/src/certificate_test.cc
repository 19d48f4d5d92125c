// Tests for tls/ certificate (being written).
