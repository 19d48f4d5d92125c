//! remote-keystore: a Substrate keystore whose keys live in signerd, reached over gRPC with mutual TLS.
//!
//! A node builds one [`RemoteKeystore`] with [`RemoteKeystore::connect`] and uses it wherever it used its local
//! keystore: it implements [`Keystore`], a faithful copy of `sp_keystore::Keystore` ([`keystore`] holds the copy and
//! says how it maps upstream). Calls are synchronous, run on the crate's own small Tokio runtime (never the
//! caller's), and end within the configured deadline. Failures follow what the node expects:
//!
//! | signer says | the node sees |
//! |---|---|
//! | key not held (`PAIR_NOT_FOUND`, or not in the key cache) | `Ok(None)` |
//! | a slashing-protection refusal (`FAILED_PRECONDITION`) | `Err(Error::Other)`: GRANDPA simply does not vote |
//! | unreachable, overloaded, or no answer in time | `Err(Error::Unavailable)` |
//! | malformed request (`INVALID_ARGUMENT`) | `Err(Error::ValidationError)` |
//! | BLS or bandersnatch | what a keystore without such keys answers |
//!
//! docs/node-patch.md is the operator's guide; the gRPC transport is `transport` (one module, replaceable by tonic).

#![deny(missing_docs)]

mod client;
mod config;
pub mod keystore;
mod proto;
mod transport;

pub use client::RemoteKeystore;
pub use config::{ConfigError, RemoteKeystoreConfig};
pub use keystore::{
    bandersnatch, bls381, ecdsa, ecdsa_bls381, ed25519, key_types, sr25519, CryptoTypeId, Error, KeyTypeId, Keystore,
    KeystorePtr,
};
