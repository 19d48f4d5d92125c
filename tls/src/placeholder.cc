// Placeholder until the tls module lands.
