//! Latency of one `ed25519_sign` (a GRANDPA prevote) through the crate: prints one microsecond figure per call.
//!
//! Usage: ed25519_sign_latency PORT PKI_DIR COUNT FIRST_ROUND
//! Calls are sequential on one connection; the first (connection and key listing) is not printed.

use std::time::Instant;

use remote_keystore::{ed25519, key_types, Keystore, RemoteKeystore, RemoteKeystoreConfig};

const ALICE_ED25519: [u8; 32] = [
    0x88, 0xdc, 0x34, 0x17, 0xd5, 0x05, 0x8e, 0xc4, 0xb4, 0x50, 0x3e, 0x0c, 0x12, 0xea, 0x1a, 0x0a, 0x89, 0xbe, 0x20,
    0x0f, 0xe9, 0x89, 0x22, 0x42, 0x3d, 0x43, 0x34, 0x01, 0x4f, 0xa6, 0xb0, 0xee,
];

fn prevote(round: u64) -> Vec<u8> {
    let mut vote = vec![0u8];
    vote.extend_from_slice(&[0x42; 32]);
    vote.extend_from_slice(&(round as u32).to_le_bytes());
    vote.extend_from_slice(&round.to_le_bytes());
    vote.extend_from_slice(&1u64.to_le_bytes());
    vote
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: ed25519_sign_latency PORT PKI_DIR COUNT FIRST_ROUND");
        std::process::exit(2);
    }
    let parse = |index: usize| -> u64 {
        args[index].parse().unwrap_or_else(|_| {
            eprintln!("argument {index} ({:?}) is not a number", args[index]);
            std::process::exit(2)
        })
    };
    let (port, count, first_round) = (parse(1), parse(3), parse(4));
    let pki = std::path::Path::new(&args[2]);
    let mut config = RemoteKeystoreConfig::new(
        format!("https://127.0.0.1:{port}"),
        pki.join("ca.crt"),
        pki.join("validator-alice.crt"),
        pki.join("validator-alice.key"),
    );
    config.tls_server_name = Some("localhost".into());
    let keystore = RemoteKeystore::connect(config).unwrap_or_else(|error| {
        eprintln!("{error}");
        std::process::exit(2)
    });
    let alice = ed25519::Public(ALICE_ED25519);
    for index in 0..=count {
        let vote = prevote(first_round + index);
        let started = Instant::now();
        let signed = keystore.ed25519_sign(key_types::GRANDPA, &alice, &vote);
        let micros = started.elapsed().as_micros();
        match signed {
            Ok(Some(_)) if index > 0 => println!("{micros}"),
            Ok(Some(_)) => {}
            other => {
                eprintln!("round {}: {other:?}", first_round + index);
                std::process::exit(1);
            }
        }
    }
}
