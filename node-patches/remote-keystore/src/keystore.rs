//! A local copy of `sp_keystore::Keystore` and the sp_core types it names, with sp_core's encodings, in one module.
//!
//! Debian packages no sp-* crate, so this crate cannot name the upstream trait and still build offline. Everything
//! the upstream adapter (`sc-keystore-remote` in node-patches/polkadot-sdk) maps lives here: one type per upstream
//! type, the same method names, arguments, results and error variants, and the same byte layouts (a public key or a
//! signature is its raw bytes; SCALE encodes a fixed-size array as those bytes with no length prefix). The adapter
//! is then a byte copy per call. Two deliberate differences, both needed on the wire and both in the patch series:
//! a VRF transcript keeps its label and items (upstream's is an opaque Merlin state), and the trait gains provided
//! methods that carry the preimage of a hash being signed (BABE header, BEEFY commitment).

use std::fmt;

/// A 4-byte key type id such as `gran` (sp_core `KeyTypeId`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyTypeId(pub [u8; 4]);

impl KeyTypeId {
    /// as_str: the id as text when it is ASCII (every id in use is), for requests and messages.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok().filter(|text| text.is_ascii())
    }
}

impl fmt::Debug for KeyTypeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_str() {
            Some(text) => write!(f, "KeyTypeId({text:?})"),
            None => write!(f, "KeyTypeId({:?})", self.0),
        }
    }
}

/// The key type ids of a Polkadot validator (sp_core `key_types` and the polkadot primitives).
pub mod key_types {
    use super::KeyTypeId;
    /// BABE block production (sr25519).
    pub const BABE: KeyTypeId = KeyTypeId(*b"babe");
    /// GRANDPA finality (ed25519).
    pub const GRANDPA: KeyTypeId = KeyTypeId(*b"gran");
    /// BEEFY (ecdsa).
    pub const BEEFY: KeyTypeId = KeyTypeId(*b"beef");
    /// Parachain validation: statements, bitfields, disputes, approvals (sr25519).
    pub const PARACHAIN: KeyTypeId = KeyTypeId(*b"para");
    /// Approval assignments (sr25519 VRF).
    pub const ASSIGNMENT: KeyTypeId = KeyTypeId(*b"asgn");
    /// Authority discovery (sr25519).
    pub const AUTHORITY_DISCOVERY: KeyTypeId = KeyTypeId(*b"audi");
    /// Accounts (any scheme).
    pub const ACCOUNT: KeyTypeId = KeyTypeId(*b"acco");
}

/// A 4-byte crypto scheme id such as `ed25` (sp_core `CryptoTypeId`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct CryptoTypeId(pub [u8; 4]);

/// Defines a fixed-size byte type with sp_core's `ByteArray` surface and SCALE encoding (the raw bytes).
macro_rules! byte_array_type {
    ($(#[$doc:meta])* $name:ident, $len:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// LEN: the size in bytes.
            pub const LEN: usize = $len;

            /// from_slice: the value whose bytes are `data`; `Err(())` when `data` has another length.
            #[allow(clippy::result_unit_err)]
            pub fn from_slice(data: &[u8]) -> Result<Self, ()> {
                <[u8; $len]>::try_from(data).map(Self).map_err(|_| ())
            }

            /// from_raw: the value holding `data`.
            pub fn from_raw(data: [u8; $len]) -> Self {
                Self(data)
            }

            /// to_raw_vec: a copy of the bytes.
            pub fn to_raw_vec(&self) -> Vec<u8> {
                self.0.to_vec()
            }

            /// encode: the SCALE encoding, which for a fixed-size array is the bytes themselves.
            pub fn encode(&self) -> Vec<u8> {
                self.0.to_vec()
            }
        }

        impl AsRef<[u8]> for $name {
            fn as_ref(&self) -> &[u8] {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}(", stringify!($name))?;
                for byte in self.0.iter() {
                    write!(f, "{byte:02x}")?;
                }
                write!(f, ")")
            }
        }
    };
}

/// Defines an opaque variable-size byte type for schemes the remote signer does not hold (BLS, bandersnatch).
macro_rules! opaque_bytes_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Debug)]
        pub struct $name(pub Vec<u8>);

        impl AsRef<[u8]> for $name {
            fn as_ref(&self) -> &[u8] {
                &self.0
            }
        }
    };
}

/// sr25519 (schnorrkel): 32-byte public keys, 64-byte signatures, and the VRF.
pub mod sr25519 {
    use super::{fmt, CryptoTypeId};

    /// CRYPTO_ID: `sr25`.
    pub const CRYPTO_ID: CryptoTypeId = CryptoTypeId(*b"sr25");
    byte_array_type!(
        /// An sr25519 public key: the compressed ristretto point.
        Public,
        32
    );
    byte_array_type!(
        /// An sr25519 signature `R || s` (with schnorrkel's marker bit).
        Signature,
        64
    );

    /// The sr25519 VRF types (sp_core `sr25519::vrf`).
    pub mod vrf {
        use super::fmt;

        /// VrfTranscript: a Merlin transcript given as its label and ordered `(item label, bytes)` items.
        ///
        /// Upstream wraps the Merlin state itself, which cannot be sent; the label and items rebuild the same state
        /// in the signer (the "VRF items" patch keeps them beside the state in sp_core).
        #[derive(Clone, PartialEq, Eq, Debug)]
        pub struct VrfTranscript {
            /// The transcript label, e.g. `BABE`.
            pub label: Vec<u8>,
            /// The appended items, in order.
            pub items: Vec<(Vec<u8>, Vec<u8>)>,
        }

        impl VrfTranscript {
            /// new: the transcript `label` with every `(item label, bytes)` of `data` appended in order.
            pub fn new(label: &'static [u8], data: &[(&'static [u8], &[u8])]) -> Self {
                VrfTranscript {
                    label: label.to_vec(),
                    items: data.iter().map(|(item, bytes)| (item.to_vec(), bytes.to_vec())).collect(),
                }
            }

            /// into_sign_data: sign data with this transcript as input and no extra transcript.
            pub fn into_sign_data(self) -> VrfSignData {
                VrfSignData::new(self)
            }
        }

        /// VrfInput: the VRF input is its transcript.
        pub type VrfInput = VrfTranscript;

        /// VrfSignData: the input transcript and an optional extra transcript (absent: schnorrkel's `Merlin("VRF")`).
        #[derive(Clone, PartialEq, Eq, Debug)]
        pub struct VrfSignData {
            /// The VRF input.
            pub transcript: VrfTranscript,
            /// Extra data signed with the proof; it does not change the output.
            pub extra: Option<VrfTranscript>,
        }

        impl VrfSignData {
            /// new: sign data for `input` with no extra transcript.
            pub fn new(input: VrfTranscript) -> Self {
                VrfSignData { transcript: input, extra: None }
            }

            /// with_extra: the same sign data with `extra` as its extra transcript.
            pub fn with_extra(mut self, extra: VrfTranscript) -> Self {
                self.extra = Some(extra);
                self
            }
        }

        /// VrfPreOutput: the 32-byte compressed pre-output point.
        #[derive(Clone, Copy, PartialEq, Eq)]
        pub struct VrfPreOutput(pub [u8; 32]);

        /// VrfProof: the 64-byte DLEQ proof `c || s`.
        #[derive(Clone, Copy, PartialEq, Eq)]
        pub struct VrfProof(pub [u8; 64]);

        /// VrfSignature: the pre-output and its proof; SCALE encodes it as the 96 bytes `pre_output || c || s`.
        #[derive(Clone, Copy, PartialEq, Eq, Debug)]
        pub struct VrfSignature {
            /// The pre-output.
            pub pre_output: VrfPreOutput,
            /// The proof.
            pub proof: VrfProof,
        }

        impl VrfSignature {
            /// encode: `pre_output || c || s`, schnorrkel's wire form.
            pub fn encode(&self) -> Vec<u8> {
                let mut out = Vec::with_capacity(96);
                out.extend_from_slice(&self.pre_output.0);
                out.extend_from_slice(&self.proof.0);
                out
            }
        }

        impl fmt::Debug for VrfPreOutput {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "VrfPreOutput({:02x?})", self.0)
            }
        }

        impl fmt::Debug for VrfProof {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "VrfProof({:02x?})", self.0)
            }
        }
    }
}

/// ed25519: 32-byte public keys, 64-byte signatures.
pub mod ed25519 {
    use super::{fmt, CryptoTypeId};

    /// CRYPTO_ID: `ed25`.
    pub const CRYPTO_ID: CryptoTypeId = CryptoTypeId(*b"ed25");
    byte_array_type!(
        /// An ed25519 public key.
        Public,
        32
    );
    byte_array_type!(
        /// An ed25519 signature.
        Signature,
        64
    );
}

/// ecdsa over secp256k1: 33-byte compressed public keys, 65-byte `r || s || v` signatures.
pub mod ecdsa {
    use super::{fmt, CryptoTypeId};

    /// CRYPTO_ID: `ecds`.
    pub const CRYPTO_ID: CryptoTypeId = CryptoTypeId(*b"ecds");
    byte_array_type!(
        /// An ecdsa public key, compressed.
        Public,
        33
    );
    byte_array_type!(
        /// An ecdsa signature with its recovery id.
        Signature,
        65
    );
}

/// BLS12-381 (sp_core `bls381`); the remote signer holds no such key.
pub mod bls381 {
    use super::CryptoTypeId;

    /// CRYPTO_ID: `bls8`.
    pub const CRYPTO_ID: CryptoTypeId = CryptoTypeId(*b"bls8");
    opaque_bytes_type!(
        /// A BLS12-381 double public key.
        Public
    );
    opaque_bytes_type!(
        /// A BLS12-381 signature.
        Signature
    );
    opaque_bytes_type!(
        /// A BLS12-381 proof of possession.
        ProofOfPossession
    );
}

/// Paired (ecdsa, BLS12-381) keys (sp_core `ecdsa_bls381`); the remote signer holds no such key.
pub mod ecdsa_bls381 {
    use super::CryptoTypeId;

    /// CRYPTO_ID: `ecb8`.
    pub const CRYPTO_ID: CryptoTypeId = CryptoTypeId(*b"ecb8");
    opaque_bytes_type!(
        /// A paired public key.
        Public
    );
    opaque_bytes_type!(
        /// A paired signature.
        Signature
    );
}

/// Bandersnatch (sp_core `bandersnatch`, experimental upstream); the remote signer holds no such key.
pub mod bandersnatch {
    use super::CryptoTypeId;

    /// CRYPTO_ID: `band`.
    pub const CRYPTO_ID: CryptoTypeId = CryptoTypeId(*b"band");
    opaque_bytes_type!(
        /// A bandersnatch public key.
        Public
    );
    opaque_bytes_type!(
        /// A bandersnatch signature.
        Signature
    );
    opaque_bytes_type!(
        /// Bandersnatch VRF sign data.
        VrfSignData
    );
    opaque_bytes_type!(
        /// A bandersnatch VRF input.
        VrfInput
    );
    opaque_bytes_type!(
        /// A bandersnatch VRF pre-output.
        VrfPreOutput
    );
    opaque_bytes_type!(
        /// A bandersnatch VRF signature.
        VrfSignature
    );
    opaque_bytes_type!(
        /// A ring prover (upstream: built from a ring context).
        RingProver
    );
    opaque_bytes_type!(
        /// A ring VRF signature.
        RingVrfSignature
    );
}

/// Error: sp_keystore's error, variant for variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The key type or scheme is not supported.
    #[error("Key not supported: {0:?}")]
    KeyNotSupported(KeyTypeId),
    /// Malformed input.
    #[error("Validation error: {0}")]
    ValidationError(String),
    /// The keystore cannot be reached (or did not answer within the deadline).
    #[error("Keystore unavailable")]
    Unavailable,
    /// Anything else; for the remote keystore also a slashing-protection refusal.
    #[error("An unknown keystore error occurred: {0}")]
    Other(String),
}

/// Keystore: the method set and semantics of `sp_keystore::Keystore`, plus provided methods that carry preimages.
///
/// Every sign method answers `Ok(None)` when the keystore does not hold the key, `Ok(Some(_))` with a signature, or
/// an `Err` when signing failed. Implementations are synchronous and shared between threads.
pub trait Keystore: Send + Sync {
    /// sr25519_public_keys: every sr25519 public key held under `key_type`.
    fn sr25519_public_keys(&self, key_type: KeyTypeId) -> Vec<sr25519::Public>;
    /// sr25519_generate_new: a new sr25519 key under `key_type` (from the SURI `seed` when given).
    fn sr25519_generate_new(&self, key_type: KeyTypeId, seed: Option<&str>) -> Result<sr25519::Public, Error>;
    /// sr25519_sign: `public`'s signature of `msg`; `None` when the key is not held.
    fn sr25519_sign(
        &self,
        key_type: KeyTypeId,
        public: &sr25519::Public,
        msg: &[u8],
    ) -> Result<Option<sr25519::Signature>, Error>;
    /// sr25519_vrf_sign: `public`'s VRF signature of `data`; `None` when the key is not held.
    fn sr25519_vrf_sign(
        &self,
        key_type: KeyTypeId,
        public: &sr25519::Public,
        data: &sr25519::vrf::VrfSignData,
    ) -> Result<Option<sr25519::vrf::VrfSignature>, Error>;
    /// sr25519_vrf_pre_output: `public`'s VRF pre-output for `input`; `None` when the key is not held.
    fn sr25519_vrf_pre_output(
        &self,
        key_type: KeyTypeId,
        public: &sr25519::Public,
        input: &sr25519::vrf::VrfInput,
    ) -> Result<Option<sr25519::vrf::VrfPreOutput>, Error>;

    /// ed25519_public_keys: every ed25519 public key held under `key_type`.
    fn ed25519_public_keys(&self, key_type: KeyTypeId) -> Vec<ed25519::Public>;
    /// ed25519_generate_new: a new ed25519 key under `key_type` (from the SURI `seed` when given).
    fn ed25519_generate_new(&self, key_type: KeyTypeId, seed: Option<&str>) -> Result<ed25519::Public, Error>;
    /// ed25519_sign: `public`'s signature of `msg`; `None` when the key is not held.
    fn ed25519_sign(
        &self,
        key_type: KeyTypeId,
        public: &ed25519::Public,
        msg: &[u8],
    ) -> Result<Option<ed25519::Signature>, Error>;

    /// ecdsa_public_keys: every ecdsa public key held under `key_type`.
    fn ecdsa_public_keys(&self, key_type: KeyTypeId) -> Vec<ecdsa::Public>;
    /// ecdsa_generate_new: a new ecdsa key under `key_type` (from the SURI `seed` when given).
    fn ecdsa_generate_new(&self, key_type: KeyTypeId, seed: Option<&str>) -> Result<ecdsa::Public, Error>;
    /// ecdsa_sign: `public`'s signature of `blake2_256(msg)`; `None` when the key is not held.
    fn ecdsa_sign(
        &self,
        key_type: KeyTypeId,
        public: &ecdsa::Public,
        msg: &[u8],
    ) -> Result<Option<ecdsa::Signature>, Error>;
    /// ecdsa_sign_prehashed: `public`'s signature of the 32-byte digest `msg` as given; `None` when not held.
    fn ecdsa_sign_prehashed(
        &self,
        key_type: KeyTypeId,
        public: &ecdsa::Public,
        msg: &[u8; 32],
    ) -> Result<Option<ecdsa::Signature>, Error>;

    /// bandersnatch_public_keys: every bandersnatch public key held under `key_type`.
    fn bandersnatch_public_keys(&self, key_type: KeyTypeId) -> Vec<bandersnatch::Public>;
    /// bandersnatch_generate_new: a new bandersnatch key under `key_type`.
    fn bandersnatch_generate_new(
        &self,
        key_type: KeyTypeId,
        seed: Option<&str>,
    ) -> Result<bandersnatch::Public, Error>;
    /// bandersnatch_sign: `public`'s signature of `msg`; `None` when the key is not held.
    fn bandersnatch_sign(
        &self,
        key_type: KeyTypeId,
        public: &bandersnatch::Public,
        msg: &[u8],
    ) -> Result<Option<bandersnatch::Signature>, Error>;
    /// bandersnatch_vrf_sign: `public`'s VRF signature of `input`; `None` when the key is not held.
    fn bandersnatch_vrf_sign(
        &self,
        key_type: KeyTypeId,
        public: &bandersnatch::Public,
        input: &bandersnatch::VrfSignData,
    ) -> Result<Option<bandersnatch::VrfSignature>, Error>;
    /// bandersnatch_vrf_pre_output: `public`'s VRF pre-output for `input`; `None` when the key is not held.
    fn bandersnatch_vrf_pre_output(
        &self,
        key_type: KeyTypeId,
        public: &bandersnatch::Public,
        input: &bandersnatch::VrfInput,
    ) -> Result<Option<bandersnatch::VrfPreOutput>, Error>;
    /// bandersnatch_ring_vrf_sign: `public`'s ring VRF signature of `input`; `None` when the key is not held.
    fn bandersnatch_ring_vrf_sign(
        &self,
        key_type: KeyTypeId,
        public: &bandersnatch::Public,
        input: &bandersnatch::VrfSignData,
        prover: &bandersnatch::RingProver,
    ) -> Result<Option<bandersnatch::RingVrfSignature>, Error>;

    /// bls381_public_keys: every BLS12-381 public key held under `key_type`.
    fn bls381_public_keys(&self, key_type: KeyTypeId) -> Vec<bls381::Public>;
    /// ecdsa_bls381_public_keys: every paired (ecdsa, BLS12-381) public key held under `key_type`.
    fn ecdsa_bls381_public_keys(&self, key_type: KeyTypeId) -> Vec<ecdsa_bls381::Public>;
    /// bls381_generate_new: a new BLS12-381 key under `key_type`.
    fn bls381_generate_new(&self, key_type: KeyTypeId, seed: Option<&str>) -> Result<bls381::Public, Error>;
    /// ecdsa_bls381_generate_new: a new paired key under `key_type`.
    fn ecdsa_bls381_generate_new(
        &self,
        key_type: KeyTypeId,
        seed: Option<&str>,
    ) -> Result<ecdsa_bls381::Public, Error>;
    /// bls381_sign: `public`'s signature of `msg`; `None` when the key is not held.
    fn bls381_sign(
        &self,
        key_type: KeyTypeId,
        public: &bls381::Public,
        msg: &[u8],
    ) -> Result<Option<bls381::Signature>, Error>;
    /// bls381_generate_proof_of_possession: `public`'s proof of possession bound to `owner`; `None` when not held.
    fn bls381_generate_proof_of_possession(
        &self,
        key_type: KeyTypeId,
        public: &bls381::Public,
        owner: &[u8],
    ) -> Result<Option<bls381::ProofOfPossession>, Error>;
    /// ecdsa_bls381_sign: the paired signature of `msg`; `None` when the key is not held.
    fn ecdsa_bls381_sign(
        &self,
        key_type: KeyTypeId,
        public: &ecdsa_bls381::Public,
        msg: &[u8],
    ) -> Result<Option<ecdsa_bls381::Signature>, Error>;
    /// ecdsa_bls381_sign_with_keccak256: the paired signature with the ecdsa half over `keccak256(msg)`.
    fn ecdsa_bls381_sign_with_keccak256(
        &self,
        key_type: KeyTypeId,
        public: &ecdsa_bls381::Public,
        msg: &[u8],
    ) -> Result<Option<ecdsa_bls381::Signature>, Error>;

    /// insert: stores the key `suri` names under `key_type`; it must have the public key `public`.
    #[allow(clippy::result_unit_err)]
    fn insert(&self, key_type: KeyTypeId, suri: &str, public: &[u8]) -> Result<(), ()>;
    /// keys: the raw public keys of every scheme held under `key_type`.
    fn keys(&self, key_type: KeyTypeId) -> Result<Vec<Vec<u8>>, Error>;
    /// has_keys: true only if every `(public key, key type)` pair is held.
    fn has_keys(&self, public_keys: &[(Vec<u8>, KeyTypeId)]) -> bool;

    /// sign_with: signs `msg` with the scheme `crypto_id` names and returns the SCALE-encoded signature; `None` when
    /// the key is not held, `KeyNotSupported` for a scheme outside sr25519, ed25519, ecdsa, bls381, ecdsa_bls381 and
    /// bandersnatch, `ValidationError` for a public key of the wrong length.
    fn sign_with(
        &self,
        id: KeyTypeId,
        crypto_id: CryptoTypeId,
        public: &[u8],
        msg: &[u8],
    ) -> Result<Option<Vec<u8>>, Error> {
        let invalid = |_| Error::ValidationError("Invalid public key format".into());
        let signature = match crypto_id {
            sr25519::CRYPTO_ID => {
                let public = sr25519::Public::from_slice(public).map_err(invalid)?;
                self.sr25519_sign(id, &public, msg)?.map(|s| s.encode())
            }
            ed25519::CRYPTO_ID => {
                let public = ed25519::Public::from_slice(public).map_err(invalid)?;
                self.ed25519_sign(id, &public, msg)?.map(|s| s.encode())
            }
            ecdsa::CRYPTO_ID => {
                let public = ecdsa::Public::from_slice(public).map_err(invalid)?;
                self.ecdsa_sign(id, &public, msg)?.map(|s| s.encode())
            }
            bandersnatch::CRYPTO_ID => {
                let public = bandersnatch::Public(public.to_vec());
                self.bandersnatch_sign(id, &public, msg)?.map(|s| s.0)
            }
            bls381::CRYPTO_ID => {
                let public = bls381::Public(public.to_vec());
                self.bls381_sign(id, &public, msg)?.map(|s| s.0)
            }
            ecdsa_bls381::CRYPTO_ID => {
                let public = ecdsa_bls381::Public(public.to_vec());
                self.ecdsa_bls381_sign(id, &public, msg)?.map(|s| s.0)
            }
            _ => return Err(Error::KeyNotSupported(id)),
        };
        Ok(signature)
    }

    /// sr25519_sign_with_preimage: `sr25519_sign` of the 32-byte hash `msg`, passing `preimage` (the BABE header
    /// without its seal, whose blake2_256 is `msg`) so a remote signer can recompute the hash and protect the slot.
    /// The provided body ignores the preimage, which is right for a keystore that holds its keys itself.
    fn sr25519_sign_with_preimage(
        &self,
        key_type: KeyTypeId,
        public: &sr25519::Public,
        msg: &[u8],
        preimage: &[u8],
    ) -> Result<Option<sr25519::Signature>, Error> {
        let _ = preimage;
        self.sr25519_sign(key_type, public, msg)
    }

    /// sign_with_preimage: `sign_with` of the 32-byte hash `msg`, passing `preimage` (the BABE header without its
    /// seal) so a remote signer can recompute the hash and protect what it signs. The provided body ignores the
    /// preimage, which is right for a keystore that holds its keys itself.
    fn sign_with_preimage(
        &self,
        id: KeyTypeId,
        crypto_id: CryptoTypeId,
        public: &[u8],
        msg: &[u8],
        preimage: &[u8],
    ) -> Result<Option<Vec<u8>>, Error> {
        let _ = preimage;
        self.sign_with(id, crypto_id, public, msg)
    }

    /// ecdsa_sign_prehashed_with_preimage: `ecdsa_sign_prehashed` of `msg` = `keccak256(preimage)` (BEEFY: the
    /// SCALE-encoded commitment), passing the preimage. The provided body ignores it, as for `sign_with_preimage`.
    fn ecdsa_sign_prehashed_with_preimage(
        &self,
        key_type: KeyTypeId,
        public: &ecdsa::Public,
        msg: &[u8; 32],
        preimage: &[u8],
    ) -> Result<Option<ecdsa::Signature>, Error> {
        let _ = preimage;
        self.ecdsa_sign_prehashed(key_type, public, msg)
    }
}

/// KeystorePtr: a shared keystore, as the node passes it around.
pub type KeystorePtr = std::sync::Arc<dyn Keystore>;
