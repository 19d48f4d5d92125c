// Tests for tls/ dev_pki (being written).
