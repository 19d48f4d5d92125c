// Tests for tls/ credentials (being written).
