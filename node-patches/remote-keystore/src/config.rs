//! The remote keystore's settings: where signerd is, the mTLS files, the per-call deadline and the key cache.

use std::path::PathBuf;
use std::time::Duration;

/// RemoteKeystoreConfig: everything [`crate::RemoteKeystore::connect`] needs.
#[derive(Clone, Debug)]
pub struct RemoteKeystoreConfig {
    /// The signer, `https://HOST:PORT` (the `--remote-signer` flag).
    pub url: String,
    /// The DNS name the signer's certificate must carry; defaults to HOST. Needed when HOST is an IP address.
    pub tls_server_name: Option<String>,
    /// PEM file of the CA that signed the signer's certificate (the only trust root).
    pub ca_file: PathBuf,
    /// PEM file of this node's client certificate (its identity in the signer's policy).
    pub cert_file: PathBuf,
    /// PEM file of this node's client private key.
    pub key_file: PathBuf,
    /// Every keystore call ends within this deadline, connecting and the key-list fetch of a key type's first use
    /// included (they share it); then it is `Error::Unavailable`.
    pub call_timeout: Duration,
    /// How long a key type's public key lists are served from the cache before a background refresh; `None`
    /// turns the cache off (every call asks the signer).
    pub key_cache_ttl: Option<Duration>,
}

impl RemoteKeystoreConfig {
    /// DEFAULT_CALL_TIMEOUT: 2 s, well inside a GRANDPA round and a BABE slot, and above a signer's fsync-bound
    /// decision latency under load.
    pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(2);
    /// DEFAULT_KEY_CACHE_TTL: 30 s; a key granted on the signer is seen by the node within this time.
    pub const DEFAULT_KEY_CACHE_TTL: Duration = Duration::from_secs(30);

    /// new: settings for `url` with the three PEM files and the default deadline and cache.
    pub fn new(
        url: impl Into<String>,
        ca_file: impl Into<PathBuf>,
        cert_file: impl Into<PathBuf>,
        key_file: impl Into<PathBuf>,
    ) -> Self {
        RemoteKeystoreConfig {
            url: url.into(),
            tls_server_name: None,
            ca_file: ca_file.into(),
            cert_file: cert_file.into(),
            key_file: key_file.into(),
            call_timeout: Self::DEFAULT_CALL_TIMEOUT,
            key_cache_ttl: Some(Self::DEFAULT_KEY_CACHE_TTL),
        }
    }

    /// endpoint: host, port and TLS server name from `url`; a readable error when the URL is not `https://HOST:PORT`.
    pub(crate) fn endpoint(&self) -> Result<(String, u16, String), ConfigError> {
        let bad = |why: &str| ConfigError(format!("remote signer URL {:?}: {why}", self.url));
        let rest = self.url.strip_prefix("https://").ok_or_else(|| bad("must start with https://"))?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
            let (host, port) = bracketed.split_once("]:").ok_or_else(|| bad("expected [IPv6]:PORT"))?;
            (host, port)
        } else {
            rest.rsplit_once(':').ok_or_else(|| bad("a port is required"))?
        };
        if host.is_empty() || host.contains('/') || host.contains('@') {
            return Err(bad("expected https://HOST:PORT with nothing else"));
        }
        let port: u16 = port.parse().map_err(|_| bad("the port must be a number from 1 to 65535"))?;
        if port == 0 {
            return Err(bad("the port must be a number from 1 to 65535"));
        }
        let server_name = self.tls_server_name.clone().unwrap_or_else(|| host.to_string());
        Ok((host.to_string(), port, server_name))
    }

    /// validate: a readable error for a zero deadline or cache lifetime.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.call_timeout.is_zero() {
            return Err(ConfigError("the call timeout must be above zero".into()));
        }
        if self.key_cache_ttl.map_or(false, |ttl| ttl.is_zero()) {
            return Err(ConfigError("the key cache lifetime must be above zero (None turns the cache off)".into()));
        }
        Ok(())
    }
}

/// ConfigError: why [`crate::RemoteKeystore::connect`] refused its settings or could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("remote keystore: {0}")]
pub struct ConfigError(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    fn with_url(url: &str) -> RemoteKeystoreConfig {
        RemoteKeystoreConfig::new(url, "ca.crt", "node.crt", "node.key")
    }

    #[test]
    fn urls_give_host_port_and_server_name() {
        assert_eq!(with_url("https://signer.example:7443").endpoint(), Ok(("signer.example".into(), 7443, "signer.example".into())));
        assert_eq!(with_url("https://[::1]:7443/").endpoint(), Ok(("::1".into(), 7443, "::1".into())));
        let mut config = with_url("https://127.0.0.1:9");
        config.tls_server_name = Some("localhost".into());
        assert_eq!(config.endpoint(), Ok(("127.0.0.1".into(), 9, "localhost".into())));
    }

    #[test]
    fn bad_urls_are_refused_with_the_reason() {
        for (url, reason) in [
            ("http://signer:7443", "https://"),
            ("https://signer", "port is required"),
            ("https://signer:0", "1 to 65535"),
            ("https://signer:99999", "1 to 65535"),
            ("https://:7443", "nothing else"),
            ("https://user@signer:7443", "nothing else"),
            ("https://signer:7443/path", "1 to 65535"),
        ] {
            let error = with_url(url).endpoint().unwrap_err();
            assert!(error.0.contains(reason), "{url}: {error}");
        }
    }

    #[test]
    fn zero_deadline_and_zero_cache_lifetime_are_refused() {
        let mut config = with_url("https://signer:7443");
        assert!(config.validate().is_ok());
        config.key_cache_ttl = None;
        assert!(config.validate().is_ok());
        config.key_cache_ttl = Some(Duration::ZERO);
        assert!(config.validate().is_err());
        config.key_cache_ttl = None;
        config.call_timeout = Duration::ZERO;
        assert!(config.validate().is_err());
    }
}
