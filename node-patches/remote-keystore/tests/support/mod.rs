//! Test support: a real signerd made by `signerctl dev init` on 127.0.0.1, started and stopped by each test, plus
//! the payload encoders, vector files and independent verifiers the tests check the crate's answers with.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use remote_keystore::{RemoteKeystore, RemoteKeystoreConfig};
use serde_json::Value;

/// //Alice's public keys: the spec's known answers (sp_core).
pub const ALICE_SR25519: &str = "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d";
pub const ALICE_ED25519: &str = "88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee";
pub const ALICE_ECDSA: &str = "020a1091341fe5664bfa1782d5e04779689068c916b04cb365ec3153755684d9a1";

/// How long signerd may take to print its listening line; a bound on a hung start, not a synchronisation.
const START_LIMIT: Duration = Duration::from_secs(60);

pub fn unhex(text: &str) -> Vec<u8> {
    hex::decode(text.trim_start_matches("0x")).unwrap_or_else(|error| panic!("bad hex {text:?}: {error}"))
}

pub fn unhex_array<const N: usize>(text: &str) -> [u8; N] {
    <[u8; N]>::try_from(unhex(text).as_slice()).unwrap_or_else(|_| panic!("{text} is not {N} bytes"))
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// program: the signerd or signerctl binary: `$SIGNERD` / `$SIGNERCTL`, else the repository's build/bin.
fn program(variable: &str, name: &str) -> PathBuf {
    let path = std::env::var_os(variable).map(PathBuf::from).unwrap_or_else(|| repository().join("build/bin").join(name));
    assert!(path.is_file(), "{} not found: build it (cmake --build build --target {name}) or set {variable}", path.display());
    path
}

pub fn signerctl() -> PathBuf {
    program("SIGNERCTL", "signerctl")
}

/// vectors: the cases of one file of the project's known-answer vectors (tests/vectors).
pub fn vectors(file: &str) -> Vec<Value> {
    let path = repository().join("tests/vectors").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let parsed: Value = serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    parsed["cases"].as_array().expect("a vector file has cases").clone()
}

/// DevSigner: one signerd with its own dev directory (token, PKI, policy, history) in a temporary directory.
pub struct DevSigner {
    pub dir: tempfile::TempDir,
    pub port: u16,
    described: Value,
    child: Option<Child>,
}

impl DevSigner {
    /// start: `signerctl dev init` in a fresh directory, `grants` (policy lines) added to validator-alice's grants,
    /// then signerd listening on 127.0.0.1 and a port the system picks.
    pub fn start(grants: &[String]) -> DevSigner {
        let dir = tempfile::Builder::new().prefix("remote-keystore-test-").tempdir().expect("temporary directory");
        let dev = dir.path().join("dev");
        let output = Command::new(signerctl())
            .args(["dev", "init", "--dir"])
            .arg(&dev)
            .args(["--port", "0"])
            .output()
            .expect("signerctl runs");
        assert!(output.status.success(), "signerctl dev init failed: {}", String::from_utf8_lossy(&output.stderr));
        let described: Value = serde_json::from_slice(&output.stdout).expect("dev init prints JSON");
        assert_eq!(described["created"], Value::Bool(true));
        let policy_path = described["policy"].as_str().expect("policy path").to_string();
        let policy = std::fs::read_to_string(&policy_path).expect("policy");
        let added: String = grants.iter().map(|grant| format!("    - {grant}\n")).collect();
        let policy = policy.replacen("  intruder: []", &format!("{added}  intruder: []"), 1);
        std::fs::write(&policy_path, policy).expect("policy written");
        let mut signer = DevSigner { dir, port: 0, described, child: None };
        signer.launch(None);
        signer
    }

    fn config_path(&self) -> PathBuf {
        PathBuf::from(self.described["config"].as_str().expect("config path"))
    }

    fn pki(&self, file: &str) -> PathBuf {
        PathBuf::from(self.described["pki"]["directory"].as_str().expect("pki directory")).join(file)
    }

    /// launch: signerd on `port` (the system's choice when None), waiting for its one listening line.
    fn launch(&mut self, port: Option<u16>) {
        let config = std::fs::read_to_string(self.config_path()).expect("signerd.yaml");
        let listen = format!("  listen: \"127.0.0.1:{}\"", port.unwrap_or(0));
        let config: String =
            config.lines().map(|line| if line.starts_with("  listen: ") { listen.clone() } else { line.to_string() } + "\n").collect();
        let config_path = self.dir.path().join("signerd.yaml");
        std::fs::write(&config_path, config).expect("config copy");
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.dir.path().join("signerd.log")).expect("log");
        let mut child = Command::new(program("SIGNERD", "signerd"))
            .arg("--config")
            .arg(&config_path)
            .env("SOFTHSM2_CONF", self.described["softhsm2_conf"].as_str().expect("softhsm2.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("signerd starts");
        let stdout = child.stdout.take().expect("piped stdout");
        self.child = Some(child);
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = sender.send(line);
            // Keep draining, so signerd never blocks on a full pipe.
            let _ = std::io::copy(&mut reader.take(u64::MAX), &mut std::io::sink());
        });
        let line = receiver.recv_timeout(START_LIMIT).unwrap_or_default();
        let port = line
            .trim_end()
            .strip_prefix("signerd listening on 127.0.0.1:")
            .and_then(|port| port.parse::<u16>().ok())
            .unwrap_or_else(|| panic!("signerd did not start (said {line:?}); its log:\n{}", self.log()));
        self.port = port;
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("signerd.log")).unwrap_or_default()
    }

    fn signal(&self, signal: i32) {
        let child = self.child.as_ref().expect("signerd running");
        let result = unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        assert_eq!(result, 0, "kill({signal}) failed");
    }

    /// pause / resume: SIGSTOP and SIGCONT; a paused signerd keeps its connections but answers nothing.
    /// SIGSTOP takes effect asynchronously (a thread running on the other core stops at its next entry
    /// into the kernel, and may answer a call first), so pause returns only once every thread of signerd
    /// is stopped.
    pub fn pause(&self) {
        self.signal(libc::SIGSTOP);
        let pid = self.child.as_ref().expect("signerd running").id();
        let tasks = PathBuf::from(format!("/proc/{pid}/task"));
        let started = std::time::Instant::now();
        loop {
            let states: Vec<char> = std::fs::read_dir(&tasks)
                .expect("signerd's task list")
                .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("stat")).ok())
                // The state is the first field after the command name, which is in parentheses.
                .filter_map(|stat| stat.rsplit_once(") ").and_then(|(_, rest)| rest.chars().next()))
                .collect();
            if !states.is_empty() && states.iter().all(|state| *state == 'T' || *state == 't') {
                return;
            }
            assert!(started.elapsed() < Duration::from_secs(5), "signerd did not stop: {states:?}");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    pub fn resume(&self) {
        self.signal(libc::SIGCONT);
    }

    /// kill: SIGKILL, and wait until the process is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// restart: a new signerd on the same port, with the same token and history.
    pub fn restart(&mut self) {
        self.kill();
        let port = self.port;
        self.launch(Some(port));
        assert_eq!(self.port, port);
    }

    /// stop: SIGTERM and wait; true when signerd exited cleanly.
    pub fn stop(&mut self) -> bool {
        match self.child.take() {
            None => false,
            Some(mut child) => {
                unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
                child.wait().map(|status| status.success()).unwrap_or(false)
            }
        }
    }

    /// config: keystore settings for validator-alice on this signer (DNS name localhost: webpki 0.22 has no IP SANs).
    pub fn config(&self) -> RemoteKeystoreConfig {
        self.config_as("validator-alice")
    }

    pub fn config_as(&self, identity: &str) -> RemoteKeystoreConfig {
        let mut config = RemoteKeystoreConfig::new(
            format!("https://127.0.0.1:{}", self.port),
            self.pki("ca.crt"),
            self.pki(&format!("{identity}.crt")),
            self.pki(&format!("{identity}.key")),
        );
        config.tls_server_name = Some("localhost".into());
        config
    }

    pub fn keystore(&self) -> RemoteKeystore {
        RemoteKeystore::connect(self.config()).expect("keystore settings are valid")
    }
}

impl Drop for DevSigner {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_ref() {
            // A paused signerd must be continued to see its SIGKILL reaped promptly.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGCONT) };
        }
        self.kill();
    }
}

/// verify: signerctl's verdict on a signature (its own sr25519, libsodium ed25519, libsecp256k1 ecdsa).
pub fn verify(scheme: &str, public: &[u8], message: &[u8], signature: &[u8], prehashed: bool) -> bool {
    let mut command = Command::new(signerctl());
    command.args(["verify", "--scheme", scheme, "--public", &hex::encode(public), "--message-hex", &hex::encode(message)]);
    command.args(["--signature", &hex::encode(signature)]);
    if prehashed {
        command.arg("--prehashed");
    }
    let output = command.output().expect("signerctl runs");
    match output.status.code() {
        Some(0) => true,
        Some(1) => false,
        _ => panic!("signerctl verify failed: {}", String::from_utf8_lossy(&output.stderr)),
    }
}

/// vrf_verify: signerctl's verdict on an sr25519 VRF signature (`pre_output || c || s`) of a transcript.
pub fn vrf_verify(dir: &Path, public: &[u8], transcript: &Value, signature: &[u8]) -> bool {
    let file = dir.join("transcript.json");
    std::fs::write(&file, transcript.to_string()).expect("transcript file");
    let output = Command::new(signerctl())
        .args(["vrf-verify", "--public", &hex::encode(public), "--transcript"])
        .arg(&file)
        .args(["--signature", &hex::encode(signature)])
        .output()
        .expect("signerctl runs");
    match output.status.code() {
        Some(0) => true,
        Some(1) => false,
        _ => panic!("signerctl vrf-verify failed: {}", String::from_utf8_lossy(&output.stderr)),
    }
}

/// compact: SCALE's compact encoding of a small unsigned integer (below 2^30).
pub fn compact(value: u32) -> Vec<u8> {
    match value {
        0..=63 => vec![(value << 2) as u8],
        64..=16383 => (((value << 2) | 1) as u16).to_le_bytes().to_vec(),
        _ => ((value << 2) | 2).to_le_bytes().to_vec(),
    }
}

/// grandpa_vote: the bytes GRANDPA signs: stage, target hash, target number, round, set id.
pub fn grandpa_vote(stage: u8, hash_byte: u8, number: u32, round: u64, set_id: u64) -> Vec<u8> {
    let mut vote = vec![stage];
    vote.extend_from_slice(&[hash_byte; 32]);
    vote.extend_from_slice(&number.to_le_bytes());
    vote.extend_from_slice(&round.to_le_bytes());
    vote.extend_from_slice(&set_id.to_le_bytes());
    vote
}

/// babe_header: a header without its seal whose BABE pre-digest is SecondaryPlain for `slot`.
pub fn babe_header(slot: u64, number: u32, state_root_byte: u8) -> Vec<u8> {
    let mut pre_digest = vec![2u8];
    pre_digest.extend_from_slice(&0u32.to_le_bytes());
    pre_digest.extend_from_slice(&slot.to_le_bytes());
    let mut header = vec![0x01; 32];
    header.extend(compact(number));
    header.extend_from_slice(&[state_root_byte; 32]);
    header.extend_from_slice(&[0x03; 32]);
    header.extend(compact(1));
    header.push(6);
    header.extend_from_slice(b"BABE");
    header.extend(compact(pre_digest.len() as u32));
    header.extend(pre_digest);
    header
}

/// beefy_commitment: a SCALE BEEFY commitment with one `mh` payload item.
pub fn beefy_commitment(root_byte: u8, block_number: u32, validator_set_id: u64) -> Vec<u8> {
    let mut commitment = compact(1);
    commitment.extend_from_slice(b"mh");
    commitment.extend(compact(32));
    commitment.extend_from_slice(&[root_byte; 32]);
    commitment.extend_from_slice(&block_number.to_le_bytes());
    commitment.extend_from_slice(&validator_set_id.to_le_bytes());
    commitment
}

pub fn blake2_256(data: &[u8]) -> [u8; 32] {
    let hash = blake2b_simd::Params::new().hash_length(32).hash(data);
    <[u8; 32]>::try_from(hash.as_bytes()).expect("32-byte hash")
}

pub fn keccak_256(data: &[u8]) -> [u8; 32] {
    use tiny_keccak::Hasher;
    let mut hasher = tiny_keccak::Keccak::v256();
    hasher.update(data);
    let mut out = [0u8; 32];
    hasher.finalize(&mut out);
    out
}

/// ed25519_valid: ring's verdict on an ed25519 signature (independent of signerd and signerctl).
pub fn ed25519_valid(public: &[u8], message: &[u8], signature: &[u8]) -> bool {
    ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, public).verify(message, signature).is_ok()
}
