//! RemoteKeystore: the `Keystore` trait over signerd's RemoteKeystore API, on the crate's own runtime, with deadlines
//! and a key cache.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use prost::Message;

use crate::config::{ConfigError, RemoteKeystoreConfig};
use crate::keystore::{
    bandersnatch, bls381, ecdsa, ecdsa_bls381, ed25519, sr25519, CryptoTypeId, Error, KeyTypeId, Keystore,
};
use crate::proto;
use crate::transport::{Channel, Code, Status, TlsFiles};

/// The schemes signerd holds keys of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scheme {
    Sr25519,
    Ed25519,
    Ecdsa,
}

impl Scheme {
    /// wire_name: the `crypto_type` text of the API.
    fn wire_name(self) -> &'static str {
        match self {
            Scheme::Sr25519 => "sr25519",
            Scheme::Ed25519 => "ed25519",
            Scheme::Ecdsa => "ecdsa",
        }
    }

    fn public_len(self) -> usize {
        match self {
            Scheme::Sr25519 => sr25519::Public::LEN,
            Scheme::Ed25519 => ed25519::Public::LEN,
            Scheme::Ecdsa => ecdsa::Public::LEN,
        }
    }

    fn signature_len(self) -> usize {
        match self {
            Scheme::Sr25519 => sr25519::Signature::LEN,
            Scheme::Ed25519 => ed25519::Signature::LEN,
            Scheme::Ecdsa => ecdsa::Signature::LEN,
        }
    }
}

/// KeySet: the public keys signerd holds (and this node may use) under one key type, by scheme.
#[derive(Default, Debug)]
struct KeySet {
    sr25519: Vec<Vec<u8>>,
    ed25519: Vec<Vec<u8>>,
    ecdsa: Vec<Vec<u8>>,
}

impl KeySet {
    fn of(&self, scheme: Scheme) -> &[Vec<u8>] {
        match scheme {
            Scheme::Sr25519 => &self.sr25519,
            Scheme::Ed25519 => &self.ed25519,
            Scheme::Ecdsa => &self.ecdsa,
        }
    }

    fn holds_any_scheme(&self, public: &[u8]) -> bool {
        [Scheme::Sr25519, Scheme::Ed25519, Scheme::Ecdsa].iter().any(|&scheme| self.of(scheme).iter().any(|key| key == public))
    }

    /// all: every key once, sr25519 first, then ed25519, then ecdsa.
    fn all(&self) -> Vec<Vec<u8>> {
        let mut all: Vec<Vec<u8>> = Vec::new();
        for key in self.sr25519.iter().chain(&self.ed25519).chain(&self.ecdsa) {
            if !all.contains(key) {
                all.push(key.clone());
            }
        }
        all
    }
}

struct CachedKeys {
    keys: Arc<KeySet>,
    fetched: Instant,
    refreshing: bool,
}

/// KeyCache: per key type, the key lists last fetched; stale lists are still served while a refresh runs.
struct KeyCache {
    ttl: Duration,
    entries: Mutex<HashMap<KeyTypeId, CachedKeys>>,
}

impl KeyCache {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<KeyTypeId, CachedKeys>> {
        // A panic while holding this lock cannot leave a map half-written (each update is one insert), so a
        // poisoned lock is still a consistent map.
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Shared: what calls running on the crate's runtime need.
struct Shared {
    channel: Channel,
    call_timeout: Duration,
    cache: Option<KeyCache>,
}

/// RemoteKeystore: a [`Keystore`] whose keys live in signerd.
///
/// Thread safety: shareable between threads (`Send + Sync`); every method may be called from any thread, inside or
/// outside an async runtime. Each call runs on the keystore's own two-thread Tokio runtime and the caller's thread
/// waits for it (inside a multi-threaded Tokio runtime through `block_in_place`, so the caller's other tasks move to
/// other workers). Dropping the keystore stops its runtime without waiting.
pub struct RemoteKeystore {
    runtime: Option<tokio::runtime::Runtime>,
    shared: Arc<Shared>,
}

impl RemoteKeystore {
    /// connect: a keystore for the signer `config` names. Reads and checks the TLS files and starts the runtime; the
    /// connection itself is opened by the first call (so a node starts while its signer is down, and the calls made
    /// until it returns fail with `Error::Unavailable`). Fails on a bad URL, an unreadable or unusable PEM file, or
    /// a zero deadline.
    pub fn connect(config: RemoteKeystoreConfig) -> Result<RemoteKeystore, ConfigError> {
        config.validate()?;
        let (host, port, server_name) = config.endpoint()?;
        let files = TlsFiles { ca_file: &config.ca_file, cert_file: &config.cert_file, key_file: &config.key_file };
        let channel = Channel::new(&host, port, &server_name, &files).map_err(ConfigError)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("remote-keystore")
            .enable_all()
            .build()
            .map_err(|error| ConfigError(format!("cannot start the keystore's runtime: {error}")))?;
        let cache = config.key_cache_ttl.map(|ttl| KeyCache { ttl, entries: Mutex::new(HashMap::new()) });
        Ok(RemoteKeystore {
            runtime: Some(runtime),
            shared: Arc::new(Shared { channel, call_timeout: config.call_timeout, cache }),
        })
    }

    fn handle(&self) -> &tokio::runtime::Handle {
        self.runtime.as_ref().expect("the runtime is only taken by drop").handle()
    }

    /// deadline: when a public operation starting now must end. Every round trip it makes (a first key-list fetch,
    /// then the call itself) gets only the time left, so the whole operation ends within `call_timeout`.
    fn deadline(&self) -> Instant {
        Instant::now() + self.shared.call_timeout
    }

    /// run: `task(shared)` on the keystore's runtime, the caller waiting for its result.
    fn run<T, F, Fut>(&self, task: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(Arc<Shared>) -> Fut,
        Fut: Future<Output = Result<T, Error>> + Send + 'static,
    {
        let (sender, receiver) = mpsc::sync_channel(1);
        let future = task(self.shared.clone());
        self.handle().spawn(async move {
            let _ = sender.send(future.await);
        });
        // The task ends within the call deadline, so this wait is bounded too.
        let wait = move || receiver.recv();
        let received = match tokio::runtime::Handle::try_current() {
            Ok(caller) if caller.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(wait)
            }
            _ => wait(),
        };
        received.unwrap_or_else(|_| Err(Error::Other("the remote keystore's task ended without an answer".into())))
    }

    /// cached_keys: the keys under `key_type`, from the cache (refreshed in the background once stale), fetched now
    /// on the first use of a key type, by `deadline`. `None` when the cache is off.
    fn cached_keys(&self, key_type: KeyTypeId, deadline: Instant) -> Option<Result<Arc<KeySet>, Error>> {
        let cache = self.shared.cache.as_ref()?;
        {
            let mut entries = cache.entries();
            if let Some(entry) = entries.get_mut(&key_type) {
                if entry.fetched.elapsed() >= cache.ttl && !entry.refreshing {
                    entry.refreshing = true;
                    let shared = self.shared.clone();
                    self.handle().spawn(async move { refresh(shared, key_type).await });
                }
                return Some(Ok(entry.keys.clone()));
            }
        }
        let fetched = self.run(move |shared| async move { fetch_key_set(&shared, key_type, deadline).await });
        Some(fetched.map(|keys| {
            let keys = Arc::new(keys);
            let entry = CachedKeys { keys: keys.clone(), fetched: Instant::now(), refreshing: false };
            cache.entries().insert(key_type, entry);
            keys
        }))
    }

    /// forget: drops `key_type`'s cached keys, so the next call fetches them (after a key was added or vanished).
    fn forget(&self, key_type: KeyTypeId) {
        if let Some(cache) = self.shared.cache.as_ref() {
            cache.entries().remove(&key_type);
        }
    }

    /// held: whether the signer may hold `public` under `key_type` for `scheme`. With the cache on, a key it does
    /// not list is not held (answered here, no round trip); with the cache off the signer decides.
    fn held(&self, key_type: KeyTypeId, scheme: Scheme, public: &[u8], deadline: Instant) -> Result<bool, Error> {
        match self.cached_keys(key_type, deadline) {
            None => Ok(true),
            Some(keys) => Ok(keys?.of(scheme).iter().any(|key| key == public)),
        }
    }

    fn public_keys(&self, key_type: KeyTypeId, scheme: Scheme) -> Vec<Vec<u8>> {
        let deadline = self.deadline();
        let listed = match self.cached_keys(key_type, deadline) {
            Some(keys) => keys.map(|keys| keys.of(scheme).to_vec()),
            None => self.run(move |shared| async move { fetch_scheme(&shared, key_type, scheme, deadline).await }),
        };
        // The trait has no error here; an unreachable signer lists nothing, as an empty keystore would.
        listed.unwrap_or_default()
    }

    /// sign: `public`'s signature of `message` through SignWith (EcdsaSignPrehashed when `prehashed`); `None` when
    /// the key is not held.
    fn sign(
        &self,
        key_type: KeyTypeId,
        scheme: Scheme,
        public: &[u8],
        message: &[u8],
        preimage: Option<&[u8]>,
        prehashed: bool,
    ) -> Result<Option<Vec<u8>>, Error> {
        let deadline = self.deadline();
        if !self.held(key_type, scheme, public, deadline)? {
            return Ok(None);
        }
        let key_type_text = key_type_text(key_type)?;
        let public_key = public.to_vec();
        let signed = message.to_vec();
        let preimage = preimage.map(<[u8]>::to_vec).unwrap_or_default();
        let signature = if prehashed {
            let request =
                proto::EcdsaSignPrehashedRequest { key_type: key_type_text, public_key, message: signed, preimage };
            self.run(move |shared| async move {
                let reply: proto::EcdsaSignPrehashedReply =
                    rpc(&shared, "EcdsaSignPrehashed", request, deadline).await?;
                Ok(reply.signature)
            })?
        } else {
            let request = proto::SignWithRequest {
                key_type: key_type_text,
                crypto_type: scheme.wire_name().to_string(),
                public_key,
                message: signed,
                payload: None,
                preimage,
                prehashed: false,
            };
            self.run(move |shared| async move {
                let reply: proto::SignWithReply = rpc(&shared, "SignWith", request, deadline).await?;
                Ok(reply.signature)
            })?
        };
        let signature = signature.ok_or_else(|| Error::Other("the signer's reply has no signature".into()))?;
        if !outcome(signature.error, key_type)? {
            self.forget(key_type);
            return Ok(None);
        }
        check_signature(scheme, public, message, &signature)?;
        Ok(Some(signature.signature))
    }

    /// sign_with_scheme: `sign_with` and `sign_with_preimage` for every crypto id.
    fn sign_with_scheme(
        &self,
        key_type: KeyTypeId,
        crypto_id: CryptoTypeId,
        public: &[u8],
        message: &[u8],
        preimage: Option<&[u8]>,
    ) -> Result<Option<Vec<u8>>, Error> {
        let scheme = match crypto_id {
            sr25519::CRYPTO_ID => Scheme::Sr25519,
            ed25519::CRYPTO_ID => Scheme::Ed25519,
            ecdsa::CRYPTO_ID => Scheme::Ecdsa,
            // Schemes signerd holds no keys of: answered as a keystore without such keys answers.
            bls381::CRYPTO_ID | ecdsa_bls381::CRYPTO_ID | bandersnatch::CRYPTO_ID => return Ok(None),
            _ => return Err(Error::KeyNotSupported(key_type)),
        };
        if public.len() != scheme.public_len() {
            return Err(Error::ValidationError("Invalid public key format".into()));
        }
        self.sign(key_type, scheme, public, message, preimage, false)
    }

    fn generate(&self, key_type: KeyTypeId, scheme: Scheme, seed: Option<&str>) -> Result<Vec<u8>, Error> {
        let deadline = self.deadline();
        let key_type_text = key_type_text(key_type)?;
        let seed = seed.unwrap_or_default().to_string();
        let (public_key, error) = self.run(move |shared| async move {
            match scheme {
                Scheme::Sr25519 => {
                    let request = proto::Sr25519GenerateNewRequest { key_type: key_type_text, seed };
                    let reply: proto::Sr25519GenerateNewReply =
                        rpc(&shared, "Sr25519GenerateNew", request, deadline).await?;
                    Ok((reply.public_key, reply.error))
                }
                Scheme::Ed25519 => {
                    let request = proto::Ed25519GenerateNewRequest { key_type: key_type_text, seed };
                    let reply: proto::Ed25519GenerateNewReply =
                        rpc(&shared, "Ed25519GenerateNew", request, deadline).await?;
                    Ok((reply.public_key, reply.error))
                }
                Scheme::Ecdsa => {
                    let request = proto::EcdsaGenerateNewRequest { key_type: key_type_text, seed };
                    let reply: proto::EcdsaGenerateNewReply =
                        rpc(&shared, "EcdsaGenerateNew", request, deadline).await?;
                    Ok((reply.public_key, reply.error))
                }
            }
        })?;
        self.forget(key_type);
        if !outcome(error, key_type)? {
            return Err(Error::Other("the signer did not generate a key".into()));
        }
        if public_key.len() != scheme.public_len() {
            return Err(Error::Other(format!("the signer returned a {}-byte public key", public_key.len())));
        }
        Ok(public_key)
    }
}

impl Drop for RemoteKeystore {
    fn drop(&mut self) {
        // shutdown_background neither blocks nor panics, whatever thread or runtime the keystore is dropped on.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// rpc: one unary call of `method` that ends by `deadline`, its reply decoded. With no time left it is not sent.
async fn rpc<Req: Message, Reply: Message + Default>(
    shared: &Shared,
    method: &str,
    request: Req,
    deadline: Instant,
) -> Result<Reply, Error> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        let late = Status::new(Code::DeadlineExceeded, format!("no time left for {method} within the call deadline"));
        return Err(status_error(late));
    }
    let path = format!("{}{}", proto::SERVICE, method);
    let reply = shared.channel.unary(&path, request.encode_to_vec(), left).await.map_err(status_error)?;
    Reply::decode(reply).map_err(|error| Error::Other(format!("undecodable {method} reply: {error}")))
}

/// check_signature: whether a sign reply is `public`'s signature of `message` under `scheme`: it names exactly that
/// key (signerd always does; an empty or other key is refused), its signature has the scheme's length, and an ed25519
/// signature verifies (ring). sr25519 and ecdsa signatures are not verified here: no crate for them is among the
/// Debian packages the crate builds from, so a wrong one of the right length and key reaches the node (and its peers,
/// which reject it).
fn check_signature(
    scheme: Scheme,
    public: &[u8],
    message: &[u8],
    reply: &proto::RemoteKeystoreSignature,
) -> Result<(), Error> {
    if reply.public_key != public {
        return Err(Error::Other(format!(
            "the signer's reply names another key ({} bytes) than the one asked for",
            reply.public_key.len()
        )));
    }
    if reply.signature.len() != scheme.signature_len() {
        return Err(Error::Other(format!(
            "the signer returned a {}-byte {} signature",
            reply.signature.len(),
            scheme.wire_name()
        )));
    }
    if scheme == Scheme::Ed25519
        && ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, public)
            .verify(message, &reply.signature)
            .is_err()
    {
        return Err(Error::Other("the signer's ed25519 signature does not verify".into()));
    }
    Ok(())
}

/// status_error: the keystore error for a failed call (the mapping in the crate's documentation).
fn status_error(status: Status) -> Error {
    match status.code {
        Code::FailedPrecondition => Error::Other(format!("refused by the remote signer: {}", status.message)),
        Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted | Code::Cancelled | Code::Aborted => {
            Error::Unavailable
        }
        Code::InvalidArgument => Error::ValidationError(status.message),
        Code::PermissionDenied | Code::Unauthenticated => {
            Error::Other(format!("the remote signer denied this node: {}", status.message))
        }
        code => Error::Other(format!("remote signer error {code:?}: {}", status.message)),
    }
}

/// outcome: for a reply's `error` field, `Ok(true)` for success, `Ok(false)` for a key not held, else the error.
fn outcome(error: i32, key_type: KeyTypeId) -> Result<bool, Error> {
    use proto::RemoteKeystoreError as Wire;
    match Wire::from_i32(error) {
        Some(Wire::Unknown) => Ok(true),
        Some(Wire::PairNotFound) => Ok(false),
        Some(Wire::KeyNotSupported) => Err(Error::KeyNotSupported(key_type)),
        Some(Wire::ValidationError) => Err(Error::ValidationError("the remote signer refused the request".into())),
        Some(Wire::Unavailable) => Err(Error::Unavailable),
        Some(Wire::Other) | None => Err(Error::Other(format!("the remote signer answered error {error}"))),
    }
}

/// key_type_text: the 4-character id as the API's string; a non-ASCII id cannot be sent.
fn key_type_text(key_type: KeyTypeId) -> Result<String, Error> {
    key_type
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| Error::ValidationError(format!("key type {key_type:?} is not ASCII text")))
}

async fn fetch_scheme(
    shared: &Shared,
    key_type: KeyTypeId,
    scheme: Scheme,
    deadline: Instant,
) -> Result<Vec<Vec<u8>>, Error> {
    let key_type_text = key_type_text(key_type)?;
    let keys = match scheme {
        Scheme::Sr25519 => {
            let request = proto::Sr25519PublicKeysRequest { key_type: key_type_text };
            rpc::<_, proto::Sr25519PublicKeysReply>(shared, "Sr25519PublicKeys", request, deadline).await?.public_keys
        }
        Scheme::Ed25519 => {
            let request = proto::Ed25519PublicKeysRequest { key_type: key_type_text };
            rpc::<_, proto::Ed25519PublicKeysReply>(shared, "Ed25519PublicKeys", request, deadline).await?.public_keys
        }
        Scheme::Ecdsa => {
            let request = proto::EcdsaPublicKeysRequest { key_type: key_type_text };
            rpc::<_, proto::EcdsaPublicKeysReply>(shared, "EcdsaPublicKeys", request, deadline).await?.public_keys
        }
    };
    if let Some(bad) = keys.iter().find(|key| key.len() != scheme.public_len()) {
        return Err(Error::Other(format!("the signer listed a {}-byte {} key", bad.len(), scheme.wire_name())));
    }
    Ok(keys)
}

/// fetch_key_set: the three key lists of `key_type`, one after the other, all by `deadline`.
async fn fetch_key_set(shared: &Shared, key_type: KeyTypeId, deadline: Instant) -> Result<KeySet, Error> {
    Ok(KeySet {
        sr25519: fetch_scheme(shared, key_type, Scheme::Sr25519, deadline).await?,
        ed25519: fetch_scheme(shared, key_type, Scheme::Ed25519, deadline).await?,
        ecdsa: fetch_scheme(shared, key_type, Scheme::Ecdsa, deadline).await?,
    })
}

/// refresh: replaces `key_type`'s cached keys; on failure the old ones stay and the next use tries again.
async fn refresh(shared: Arc<Shared>, key_type: KeyTypeId) {
    let deadline = Instant::now() + shared.call_timeout;
    let fetched = fetch_key_set(&shared, key_type, deadline).await;
    let cache = match shared.cache.as_ref() {
        Some(cache) => cache,
        None => return,
    };
    let mut entries = cache.entries();
    match fetched {
        Ok(keys) => {
            entries.insert(key_type, CachedKeys { keys: Arc::new(keys), fetched: Instant::now(), refreshing: false });
        }
        Err(_) => {
            if let Some(entry) = entries.get_mut(&key_type) {
                entry.refreshing = false;
            }
        }
    }
}

/// wire_transcript: a VRF transcript as the API carries it (label text plus labelled items).
fn wire_transcript(
    transcript: &sr25519::vrf::VrfTranscript,
) -> Result<proto::sr25519_vrf_sign_request::VrfTranscriptData, Error> {
    let label = String::from_utf8(transcript.label.clone())
        .map_err(|_| Error::ValidationError("a VRF transcript label must be UTF-8 text to be sent".into()))?;
    Ok(proto::sr25519_vrf_sign_request::VrfTranscriptData {
        label,
        values: Vec::new(),
        items: transcript
            .items
            .iter()
            .map(|(label, value)| proto::sr25519_vrf_sign_request::VrfTranscriptItem {
                label: label.clone(),
                value: value.clone(),
            })
            .collect(),
    })
}

fn array<const N: usize>(bytes: &[u8], what: &str) -> Result<[u8; N], Error> {
    <[u8; N]>::try_from(bytes).map_err(|_| Error::Other(format!("the signer returned a {}-byte {what}", bytes.len())))
}

impl Keystore for RemoteKeystore {
    fn sr25519_public_keys(&self, key_type: KeyTypeId) -> Vec<sr25519::Public> {
        let keys = self.public_keys(key_type, Scheme::Sr25519);
        keys.iter().filter_map(|key| sr25519::Public::from_slice(key).ok()).collect()
    }

    fn sr25519_generate_new(&self, key_type: KeyTypeId, seed: Option<&str>) -> Result<sr25519::Public, Error> {
        let public = self.generate(key_type, Scheme::Sr25519, seed)?;
        Ok(sr25519::Public(array(&public, "public key")?))
    }

    fn sr25519_sign(
        &self,
        key_type: KeyTypeId,
        public: &sr25519::Public,
        msg: &[u8],
    ) -> Result<Option<sr25519::Signature>, Error> {
        let signature = self.sign(key_type, Scheme::Sr25519, public.as_ref(), msg, None, false)?;
        signature.map(|s| array(&s, "signature").map(sr25519::Signature)).transpose()
    }

    fn sr25519_vrf_sign(
        &self,
        key_type: KeyTypeId,
        public: &sr25519::Public,
        data: &sr25519::vrf::VrfSignData,
    ) -> Result<Option<sr25519::vrf::VrfSignature>, Error> {
        let deadline = self.deadline();
        if !self.held(key_type, Scheme::Sr25519, public.as_ref(), deadline)? {
            return Ok(None);
        }
        let request = proto::Sr25519VrfSignRequest {
            key_type: key_type_text(key_type)?,
            public_key: public.to_raw_vec(),
            transcript_data: Some(wire_transcript(&data.transcript)?),
            extra_transcript: data.extra.as_ref().map(wire_transcript).transpose()?,
        };
        let reply: proto::Sr25519VrfSignReply =
            self.run(move |shared| async move { rpc(&shared, "Sr25519VrfSign", request, deadline).await })?;
        if !outcome(reply.error, key_type)? {
            self.forget(key_type);
            return Ok(None);
        }
        let signature = reply.signature.ok_or_else(|| Error::Other("the signer's reply has no VRF signature".into()))?;
        let mut proof = [0u8; 64];
        proof[..32].copy_from_slice(&array::<32>(&signature.challenge, "VRF proof challenge")?);
        proof[32..].copy_from_slice(&array::<32>(&signature.proof, "VRF proof response")?);
        Ok(Some(sr25519::vrf::VrfSignature {
            pre_output: sr25519::vrf::VrfPreOutput(array(&signature.output, "VRF pre-output")?),
            proof: sr25519::vrf::VrfProof(proof),
        }))
    }

    fn sr25519_vrf_pre_output(
        &self,
        key_type: KeyTypeId,
        public: &sr25519::Public,
        input: &sr25519::vrf::VrfInput,
    ) -> Result<Option<sr25519::vrf::VrfPreOutput>, Error> {
        let deadline = self.deadline();
        if !self.held(key_type, Scheme::Sr25519, public.as_ref(), deadline)? {
            return Ok(None);
        }
        let request = proto::Sr25519VrfPreOutputRequest {
            key_type: key_type_text(key_type)?,
            public_key: public.to_raw_vec(),
            transcript_data: Some(wire_transcript(input)?),
        };
        let reply: proto::Sr25519VrfPreOutputReply =
            self.run(move |shared| async move { rpc(&shared, "Sr25519VrfPreOutput", request, deadline).await })?;
        if !outcome(reply.error, key_type)? {
            self.forget(key_type);
            return Ok(None);
        }
        Ok(Some(sr25519::vrf::VrfPreOutput(array(&reply.pre_output, "VRF pre-output")?)))
    }

    fn ed25519_public_keys(&self, key_type: KeyTypeId) -> Vec<ed25519::Public> {
        let keys = self.public_keys(key_type, Scheme::Ed25519);
        keys.iter().filter_map(|key| ed25519::Public::from_slice(key).ok()).collect()
    }

    fn ed25519_generate_new(&self, key_type: KeyTypeId, seed: Option<&str>) -> Result<ed25519::Public, Error> {
        let public = self.generate(key_type, Scheme::Ed25519, seed)?;
        Ok(ed25519::Public(array(&public, "public key")?))
    }

    fn ed25519_sign(
        &self,
        key_type: KeyTypeId,
        public: &ed25519::Public,
        msg: &[u8],
    ) -> Result<Option<ed25519::Signature>, Error> {
        let signature = self.sign(key_type, Scheme::Ed25519, public.as_ref(), msg, None, false)?;
        signature.map(|s| array(&s, "signature").map(ed25519::Signature)).transpose()
    }

    fn ecdsa_public_keys(&self, key_type: KeyTypeId) -> Vec<ecdsa::Public> {
        let keys = self.public_keys(key_type, Scheme::Ecdsa);
        keys.iter().filter_map(|key| ecdsa::Public::from_slice(key).ok()).collect()
    }

    fn ecdsa_generate_new(&self, key_type: KeyTypeId, seed: Option<&str>) -> Result<ecdsa::Public, Error> {
        let public = self.generate(key_type, Scheme::Ecdsa, seed)?;
        Ok(ecdsa::Public(array(&public, "public key")?))
    }

    fn ecdsa_sign(
        &self,
        key_type: KeyTypeId,
        public: &ecdsa::Public,
        msg: &[u8],
    ) -> Result<Option<ecdsa::Signature>, Error> {
        let signature = self.sign(key_type, Scheme::Ecdsa, public.as_ref(), msg, None, false)?;
        signature.map(|s| array(&s, "signature").map(ecdsa::Signature)).transpose()
    }

    fn ecdsa_sign_prehashed(
        &self,
        key_type: KeyTypeId,
        public: &ecdsa::Public,
        msg: &[u8; 32],
    ) -> Result<Option<ecdsa::Signature>, Error> {
        let signature = self.sign(key_type, Scheme::Ecdsa, public.as_ref(), msg, None, true)?;
        signature.map(|s| array(&s, "signature").map(ecdsa::Signature)).transpose()
    }

    fn bandersnatch_public_keys(&self, _key_type: KeyTypeId) -> Vec<bandersnatch::Public> {
        Vec::new()
    }

    fn bandersnatch_generate_new(
        &self,
        key_type: KeyTypeId,
        _seed: Option<&str>,
    ) -> Result<bandersnatch::Public, Error> {
        Err(Error::KeyNotSupported(key_type))
    }

    fn bandersnatch_sign(
        &self,
        _key_type: KeyTypeId,
        _public: &bandersnatch::Public,
        _msg: &[u8],
    ) -> Result<Option<bandersnatch::Signature>, Error> {
        Ok(None)
    }

    fn bandersnatch_vrf_sign(
        &self,
        _key_type: KeyTypeId,
        _public: &bandersnatch::Public,
        _input: &bandersnatch::VrfSignData,
    ) -> Result<Option<bandersnatch::VrfSignature>, Error> {
        Ok(None)
    }

    fn bandersnatch_vrf_pre_output(
        &self,
        _key_type: KeyTypeId,
        _public: &bandersnatch::Public,
        _input: &bandersnatch::VrfInput,
    ) -> Result<Option<bandersnatch::VrfPreOutput>, Error> {
        Ok(None)
    }

    fn bandersnatch_ring_vrf_sign(
        &self,
        _key_type: KeyTypeId,
        _public: &bandersnatch::Public,
        _input: &bandersnatch::VrfSignData,
        _prover: &bandersnatch::RingProver,
    ) -> Result<Option<bandersnatch::RingVrfSignature>, Error> {
        Ok(None)
    }

    fn bls381_public_keys(&self, _key_type: KeyTypeId) -> Vec<bls381::Public> {
        Vec::new()
    }

    fn ecdsa_bls381_public_keys(&self, _key_type: KeyTypeId) -> Vec<ecdsa_bls381::Public> {
        Vec::new()
    }

    fn bls381_generate_new(&self, key_type: KeyTypeId, _seed: Option<&str>) -> Result<bls381::Public, Error> {
        Err(Error::KeyNotSupported(key_type))
    }

    fn ecdsa_bls381_generate_new(
        &self,
        key_type: KeyTypeId,
        _seed: Option<&str>,
    ) -> Result<ecdsa_bls381::Public, Error> {
        Err(Error::KeyNotSupported(key_type))
    }

    fn bls381_sign(
        &self,
        _key_type: KeyTypeId,
        _public: &bls381::Public,
        _msg: &[u8],
    ) -> Result<Option<bls381::Signature>, Error> {
        Ok(None)
    }

    fn bls381_generate_proof_of_possession(
        &self,
        _key_type: KeyTypeId,
        _public: &bls381::Public,
        _owner: &[u8],
    ) -> Result<Option<bls381::ProofOfPossession>, Error> {
        Ok(None)
    }

    fn ecdsa_bls381_sign(
        &self,
        _key_type: KeyTypeId,
        _public: &ecdsa_bls381::Public,
        _msg: &[u8],
    ) -> Result<Option<ecdsa_bls381::Signature>, Error> {
        Ok(None)
    }

    fn ecdsa_bls381_sign_with_keccak256(
        &self,
        _key_type: KeyTypeId,
        _public: &ecdsa_bls381::Public,
        _msg: &[u8],
    ) -> Result<Option<ecdsa_bls381::Signature>, Error> {
        Ok(None)
    }

    fn insert(&self, key_type: KeyTypeId, suri: &str, public: &[u8]) -> Result<(), ()> {
        let deadline = self.deadline();
        let key_type_text = key_type_text(key_type).map_err(|_| ())?;
        let request = proto::InsertRequest { key_type: key_type_text, suri: suri.to_string(), public_key: public.to_vec() };
        let reply: Result<proto::InsertReply, Error> =
            self.run(move |shared| async move { rpc(&shared, "Insert", request, deadline).await });
        self.forget(key_type);
        match reply {
            Ok(reply) if reply.error == proto::RemoteKeystoreError::Unknown as i32 => Ok(()),
            _ => Err(()),
        }
    }

    fn keys(&self, key_type: KeyTypeId) -> Result<Vec<Vec<u8>>, Error> {
        let deadline = self.deadline();
        match self.cached_keys(key_type, deadline) {
            Some(keys) => Ok(keys?.all()),
            None => {
                let request = proto::KeysRequest { key_type: key_type_text(key_type)? };
                let reply: proto::KeysReply =
                    self.run(move |shared| async move { rpc(&shared, "Keys", request, deadline).await })?;
                Ok(reply.public_keys)
            }
        }
    }

    fn has_keys(&self, public_keys: &[(Vec<u8>, KeyTypeId)]) -> bool {
        // One deadline for the whole question, however many key types it needs listed.
        let deadline = self.deadline();
        if self.shared.cache.is_some() {
            return public_keys.iter().all(|(public, key_type)| match self.cached_keys(*key_type, deadline) {
                Some(Ok(keys)) => keys.holds_any_scheme(public),
                _ => false,
            });
        }
        let mut keys = Vec::with_capacity(public_keys.len());
        for (public, key_type) in public_keys {
            match key_type_text(*key_type) {
                Ok(text) => keys.push(proto::has_keys_request::KeyRef { public_key: public.clone(), key_type: text }),
                Err(_) => return false,
            }
        }
        let request = proto::HasKeysRequest { keys };
        let reply: Result<proto::HasKeysReply, Error> =
            self.run(move |shared| async move { rpc(&shared, "HasKeys", request, deadline).await });
        reply.map_or(false, |reply| reply.all_present)
    }

    fn sign_with(
        &self,
        id: KeyTypeId,
        crypto_id: CryptoTypeId,
        public: &[u8],
        msg: &[u8],
    ) -> Result<Option<Vec<u8>>, Error> {
        self.sign_with_scheme(id, crypto_id, public, msg, None)
    }

    fn sign_with_preimage(
        &self,
        id: KeyTypeId,
        crypto_id: CryptoTypeId,
        public: &[u8],
        msg: &[u8],
        preimage: &[u8],
    ) -> Result<Option<Vec<u8>>, Error> {
        self.sign_with_scheme(id, crypto_id, public, msg, Some(preimage))
    }

    fn sr25519_sign_with_preimage(
        &self,
        key_type: KeyTypeId,
        public: &sr25519::Public,
        msg: &[u8],
        preimage: &[u8],
    ) -> Result<Option<sr25519::Signature>, Error> {
        let signature = self.sign(key_type, Scheme::Sr25519, public.as_ref(), msg, Some(preimage), false)?;
        signature.map(|s| array(&s, "signature").map(sr25519::Signature)).transpose()
    }

    fn ecdsa_sign_prehashed_with_preimage(
        &self,
        key_type: KeyTypeId,
        public: &ecdsa::Public,
        msg: &[u8; 32],
        preimage: &[u8],
    ) -> Result<Option<ecdsa::Signature>, Error> {
        let signature = self.sign(key_type, Scheme::Ecdsa, public.as_ref(), msg, Some(preimage), true)?;
        signature.map(|s| array(&s, "signature").map(ecdsa::Signature)).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_the_errors_a_node_expects() {
        let status = |code| Status::new(code, "why");
        assert!(matches!(status_error(status(Code::FailedPrecondition)), Error::Other(m) if m.contains("refused")));
        assert_eq!(status_error(status(Code::Unavailable)), Error::Unavailable);
        assert_eq!(status_error(status(Code::DeadlineExceeded)), Error::Unavailable);
        assert_eq!(status_error(status(Code::ResourceExhausted)), Error::Unavailable);
        assert_eq!(status_error(status(Code::InvalidArgument)), Error::ValidationError("why".into()));
        assert!(matches!(status_error(status(Code::PermissionDenied)), Error::Other(m) if m.contains("denied")));
        assert!(matches!(status_error(status(Code::Internal)), Error::Other(_)));
    }

    #[test]
    fn reply_errors_map_to_found_not_found_or_an_error() {
        use proto::RemoteKeystoreError as Wire;
        let gran = KeyTypeId(*b"gran");
        assert_eq!(outcome(Wire::Unknown as i32, gran), Ok(true));
        assert_eq!(outcome(Wire::PairNotFound as i32, gran), Ok(false));
        assert_eq!(outcome(Wire::KeyNotSupported as i32, gran), Err(Error::KeyNotSupported(gran)));
        assert_eq!(outcome(Wire::Unavailable as i32, gran), Err(Error::Unavailable));
        assert!(matches!(outcome(Wire::Other as i32, gran), Err(Error::Other(_))));
        assert!(matches!(outcome(99, gran), Err(Error::Other(_))));
    }

    #[test]
    fn transcripts_keep_labels_and_items_in_order() {
        let transcript = sr25519::vrf::VrfTranscript::new(b"BABE", &[(b"slot number", &[1, 0]), (b"current epoch", &[2])]);
        let wire = wire_transcript(&transcript).unwrap();
        assert_eq!(wire.label, "BABE");
        assert!(wire.values.is_empty());
        assert_eq!(wire.items.len(), 2);
        assert_eq!((wire.items[0].label.as_slice(), wire.items[0].value.as_slice()), (&b"slot number"[..], &[1u8, 0][..]));
        assert_eq!((wire.items[1].label.as_slice(), wire.items[1].value.as_slice()), (&b"current epoch"[..], &[2u8][..]));
        let binary = sr25519::vrf::VrfTranscript { label: vec![0xff], items: Vec::new() };
        assert!(matches!(wire_transcript(&binary), Err(Error::ValidationError(_))));
    }

    #[test]
    fn a_non_ascii_key_type_is_a_validation_error() {
        assert_eq!(key_type_text(KeyTypeId(*b"gran")), Ok("gran".to_string()));
        assert!(matches!(key_type_text(KeyTypeId([0xff, 0, 0, 0])), Err(Error::ValidationError(_))));
    }

    #[test]
    fn key_sets_list_every_key_once() {
        let keys = KeySet { sr25519: vec![vec![1; 32]], ed25519: vec![vec![1; 32], vec![2; 32]], ecdsa: vec![vec![3; 33]] };
        assert_eq!(keys.all(), vec![vec![1; 32], vec![2; 32], vec![3; 33]]);
        assert!(keys.holds_any_scheme(&[3; 33]));
        assert!(!keys.holds_any_scheme(&[4; 32]));
    }
}
