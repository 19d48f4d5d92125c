//! Every Keystore method of the crate against a real signerd from `signerctl dev init`: known answers, protection,
//! error mapping, the key cache, deadlines and recovery.
#![deny(warnings)]

mod support;

use std::time::{Duration, Instant};

use remote_keystore::sr25519::vrf::{VrfSignData, VrfTranscript};
use remote_keystore::{
    bandersnatch, bls381, ecdsa, ecdsa_bls381, ed25519, key_types, sr25519, CryptoTypeId, Error, KeyTypeId, Keystore,
    RemoteKeystore,
};
use serde_json::{json, Value};
use support::*;

const ACCOUNT: KeyTypeId = key_types::ACCOUNT;

fn alice_sr25519() -> sr25519::Public {
    sr25519::Public(unhex_array(ALICE_SR25519))
}
fn alice_ed25519() -> ed25519::Public {
    ed25519::Public(unhex_array(ALICE_ED25519))
}
fn alice_ecdsa() -> ecdsa::Public {
    ecdsa::Public(unhex_array(ALICE_ECDSA))
}

/// Keys of the vector files that hold no validator role on the dev signer, so any message may be signed with them
/// under `acco` (//Alice's ed25519 and ecdsa keys are also `gran` and `beef` keys, whose protection follows the
/// public key into every key type).
fn account_vector_cases() -> Vec<Value> {
    vectors("oracle_signatures.json")
        .into_iter()
        .filter(|case| case["type"] == "sign_deterministic" && case["suri"] != "//Alice")
        .collect()
}

/// account_grant: a policy line letting validator-alice generate, insert, list and sign `acco` keys `publics`.
fn account_grant(publics: &[String]) -> String {
    let quoted: Vec<String> = publics.iter().map(|public| format!("\"{public}\"")).collect();
    format!("{{key_types: [acco], operations: [generate, insert, list, sign], public_keys: [{}]}}", quoted.join(", "))
}

fn uncached(signer: &DevSigner) -> RemoteKeystore {
    let mut config = signer.config();
    config.key_cache_ttl = None;
    RemoteKeystore::connect(config).expect("valid settings")
}

#[test]
fn listing_generation_and_insert_give_the_known_keys() {
    let cases = account_vector_cases();
    let mut publics: Vec<String> = cases.iter().map(|case| case["public_hex"].as_str().unwrap().to_string()).collect();
    publics.sort();
    publics.dedup();
    let signer = DevSigner::start(&[account_grant(&publics)]);
    for keystore in [signer.keystore(), uncached(&signer)] {
        assert_eq!(keystore.sr25519_public_keys(key_types::BABE), vec![alice_sr25519()]);
        assert_eq!(keystore.ed25519_public_keys(key_types::GRANDPA), vec![alice_ed25519()]);
        assert_eq!(keystore.ecdsa_public_keys(key_types::BEEFY), vec![alice_ecdsa()]);
        assert!(keystore.ed25519_public_keys(key_types::BABE).is_empty());
        assert!(keystore.sr25519_public_keys(KeyTypeId(*b"zzzz")).is_empty());
        for key_type in [key_types::PARACHAIN, key_types::ASSIGNMENT, key_types::AUTHORITY_DISCOVERY] {
            assert_eq!(keystore.keys(key_type), Ok(vec![unhex(ALICE_SR25519)]));
        }
        assert!(keystore.has_keys(&[
            (unhex(ALICE_SR25519), key_types::BABE),
            (unhex(ALICE_ED25519), key_types::GRANDPA),
            (unhex(ALICE_ECDSA), key_types::BEEFY),
        ]));
        assert!(!keystore.has_keys(&[(unhex(ALICE_SR25519), key_types::BABE), (vec![7; 32], key_types::BABE)]));
        assert!(!keystore.has_keys(&[(unhex(ALICE_ED25519), key_types::BABE)]));
        assert!(keystore.has_keys(&[]));
    }

    let keystore = signer.keystore();
    // Without a seed: a new key of the right scheme, held by the signer but not granted, so not listed.
    assert_eq!(keystore.sr25519_generate_new(ACCOUNT, None).map(|key| key.0.len()), Ok(32));
    assert_eq!(keystore.ed25519_generate_new(ACCOUNT, None).map(|key| key.0.len()), Ok(32));
    let generated = keystore.ecdsa_generate_new(ACCOUNT, None).expect("ecdsa key");
    assert!(generated.0[0] == 2 || generated.0[0] == 3);
    // With a seed: the key that SURI names; its public key is the vector's.
    let seeded = cases.iter().find(|case| case["scheme"] == "ed25519" && case["suri"].as_str().unwrap().starts_with("0x")).unwrap();
    let public = keystore.ed25519_generate_new(ACCOUNT, Some(seeded["suri"].as_str().unwrap())).expect("seeded key");
    assert_eq!(hex::encode(public.0), seeded["public_hex"].as_str().unwrap());
    assert_eq!(keystore.ed25519_public_keys(ACCOUNT), vec![public], "the generated key is listed at once");
    // Insert: the key the SURI names, refused when the public key does not match it.
    let phrase = cases.iter().find(|case| case["scheme"] == "ecdsa" && case["suri"].as_str().unwrap().contains(' ')).unwrap();
    let phrase_public = unhex(phrase["public_hex"].as_str().unwrap());
    assert_eq!(keystore.insert(ACCOUNT, phrase["suri"].as_str().unwrap(), &phrase_public), Ok(()));
    assert_eq!(keystore.ecdsa_public_keys(ACCOUNT), vec![ecdsa::Public::from_slice(&phrase_public).unwrap()]);
    assert!(keystore.has_keys(&[(phrase_public.clone(), ACCOUNT), (public.0.to_vec(), ACCOUNT)]));
    assert_eq!(keystore.insert(ACCOUNT, phrase["suri"].as_str().unwrap(), &unhex(ALICE_ECDSA)), Err(()));
    // Generation needs a grant: `babe` has none.
    assert!(matches!(keystore.sr25519_generate_new(key_types::BABE, None), Err(Error::Other(m)) if m.contains("denied")));
    let mut signer = signer;
    assert!(signer.stop(), "signerd stops cleanly; its log:\n{}", signer.log());
}

#[test]
fn signatures_match_the_vectors_and_verify() {
    let cases = account_vector_cases();
    let mut publics: Vec<String> = cases.iter().map(|case| case["public_hex"].as_str().unwrap().to_string()).collect();
    publics.sort();
    publics.dedup();
    let signer = DevSigner::start(&[account_grant(&publics)]);
    let keystore = signer.keystore();
    let mut imported = std::collections::BTreeSet::new();
    for case in &cases {
        let suri = case["suri"].as_str().unwrap();
        if !imported.insert((case["scheme"].as_str().unwrap(), suri)) {
            continue;
        }
        let public = unhex(case["public_hex"].as_str().unwrap());
        match case["scheme"].as_str().unwrap() {
            "ed25519" => assert_eq!(keystore.ed25519_generate_new(ACCOUNT, Some(suri)).unwrap().0.to_vec(), public),
            _ => assert_eq!(keystore.ecdsa_generate_new(ACCOUNT, Some(suri)).unwrap().0.to_vec(), public),
        }
    }
    assert!(cases.len() >= 20, "the vector file holds the cases this test relies on");
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let message = unhex(case["message_hex"].as_str().unwrap());
        let expected = unhex(case["signature_hex"].as_str().unwrap());
        let public = unhex(case["public_hex"].as_str().unwrap());
        let (signature, through_sign_with) = match (case["scheme"].as_str().unwrap(), case["prehashed"].as_bool().unwrap()) {
            ("ed25519", _) => {
                let key = ed25519::Public::from_slice(&public).unwrap();
                let signature = keystore.ed25519_sign(ACCOUNT, &key, &message).unwrap().unwrap().0.to_vec();
                assert!(ed25519_valid(&public, &message, &signature), "{name}: ring verifies");
                (signature, keystore.sign_with(ACCOUNT, ed25519::CRYPTO_ID, &public, &message).unwrap())
            }
            (_, false) => {
                let key = ecdsa::Public::from_slice(&public).unwrap();
                let signature = keystore.ecdsa_sign(ACCOUNT, &key, &message).unwrap().unwrap().0.to_vec();
                (signature, keystore.sign_with(ACCOUNT, ecdsa::CRYPTO_ID, &public, &message).unwrap())
            }
            (_, true) => {
                let key = ecdsa::Public::from_slice(&public).unwrap();
                let digest: [u8; 32] = message.as_slice().try_into().unwrap();
                let signature = keystore.ecdsa_sign_prehashed(ACCOUNT, &key, &digest).unwrap().unwrap().0.to_vec();
                (signature.clone(), Some(signature))
            }
        };
        let prehashed = case["prehashed"].as_bool().unwrap();
        if case["scheme"] == "ecdsa" {
            // The HSM picks its own ecdsa nonce (not RFC 6979), so the vector's bytes cannot be reproduced: the
            // signature must verify for the vector's key and message (with its recovery id), as the vector's does.
            assert!(verify("ecdsa", &public, &message, &expected, prehashed), "{name}: the vector itself verifies");
            assert!(verify("ecdsa", &public, &message, &signature, prehashed), "{name}: verifies");
            let through_sign_with = through_sign_with.expect("signed");
            assert!(verify("ecdsa", &public, &message, &through_sign_with, prehashed), "{name}: sign_with verifies");
            let mut tampered = signature.clone();
            tampered[64] ^= 1;
            assert!(!verify("ecdsa", &public, &message, &tampered, prehashed), "{name}: another recovery id fails");
            continue;
        }
        assert_eq!(hex::encode(&signature), hex::encode(&expected), "{name}: byte for byte");
        assert_eq!(through_sign_with.map(hex::encode), Some(hex::encode(&expected)), "{name}: sign_with");
    }

    // sr25519 signatures are randomised: each one verifies (and a tampered copy does not).
    let message = b"an authority discovery record".to_vec();
    let signature = keystore.sr25519_sign(key_types::AUTHORITY_DISCOVERY, &alice_sr25519(), &message).unwrap().unwrap();
    assert!(verify("sr25519", &unhex(ALICE_SR25519), &message, &signature.0, false));
    let mut tampered = signature.0;
    tampered[5] ^= 1;
    assert!(!verify("sr25519", &unhex(ALICE_SR25519), &message, &tampered, false));
    let encoded = keystore.sign_with(key_types::AUTHORITY_DISCOVERY, sr25519::CRYPTO_ID, &unhex(ALICE_SR25519), &message);
    let encoded = encoded.unwrap().unwrap();
    assert_eq!(encoded.len(), 64);
    assert!(verify("sr25519", &unhex(ALICE_SR25519), &message, &encoded, false));
    // sign_with: a public key of the wrong length, an unknown scheme.
    assert!(matches!(
        keystore.sign_with(ACCOUNT, ed25519::CRYPTO_ID, &[1; 31], &message),
        Err(Error::ValidationError(_))
    ));
    assert_eq!(keystore.sign_with(ACCOUNT, CryptoTypeId(*b"rsa!"), &[1; 32], &message), Err(Error::KeyNotSupported(ACCOUNT)));
}

#[test]
fn vrf_outputs_match_the_vectors_and_proofs_verify() {
    let signer = DevSigner::start(&[]);
    let keystore = signer.keystore();
    let cases: Vec<Value> = vectors("sr25519_vrf.json")
        .into_iter()
        .filter(|case| case["type"] == "vrf_pre_output" && case["suri"] == "//Alice")
        .collect();
    assert!(!cases.is_empty());
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let input = &case["input"];
        let transcript = VrfTranscript {
            label: unhex(input["label_hex"].as_str().unwrap()),
            items: input["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|item| (unhex(item["label_hex"].as_str().unwrap()), unhex(item["message_hex"].as_str().unwrap())))
                .collect(),
        };
        let expected = case["pre_output_hex"].as_str().unwrap();
        let pre_output = keystore.sr25519_vrf_pre_output(key_types::ASSIGNMENT, &alice_sr25519(), &transcript).unwrap().unwrap();
        assert_eq!(hex::encode(pre_output.0), expected, "{name}: pre-output");

        // Signed with the default extra transcript and with an extra one: the pre-output is the same, the proof
        // verifies against the transcripts it was made for, and not against another extra.
        let extra = VrfTranscript::new(b"VRF", &[(b"extra", b"bytes")]);
        let as_json = |t: &VrfTranscript| {
            let items: Vec<Value> = t
                .items
                .iter()
                .map(|(label, value)| json!([String::from_utf8(label.clone()).unwrap(), format!("0x{}", hex::encode(value))]))
                .collect();
            json!({"label": String::from_utf8(t.label.clone()).unwrap(), "items": items})
        };
        for data in [VrfSignData::new(transcript.clone()), VrfSignData::new(transcript.clone()).with_extra(extra.clone())] {
            let signature = keystore.sr25519_vrf_sign(key_types::BABE, &alice_sr25519(), &data).unwrap().unwrap();
            assert_eq!(hex::encode(signature.pre_output.0), expected, "{name}: signed pre-output");
            let mut described = as_json(&data.transcript);
            let other_extra = json!({"label": "VRF", "items": [["extra", "0x6f74686572"]]});
            if let Some(extra) = &data.extra {
                described["extra"] = as_json(extra);
            } else {
                let mut wrong = described.clone();
                wrong["extra"] = other_extra;
                assert!(!vrf_verify(signer.dir.path(), &unhex(ALICE_SR25519), &wrong, &signature.encode()), "{name}");
            }
            assert!(vrf_verify(signer.dir.path(), &unhex(ALICE_SR25519), &described, &signature.encode()), "{name}: proof");
        }
    }
    // No VRF grant on `para`: the signer denies it, which is an error, not a missing key.
    let data = VrfSignData::new(VrfTranscript::new(b"BABE", &[(b"slot number", &[1, 0, 0, 0, 0, 0, 0, 0])]));
    assert!(matches!(keystore.sr25519_vrf_sign(key_types::PARACHAIN, &alice_sr25519(), &data), Err(Error::Other(_))));
    // A key the signer does not hold: None, as from a local keystore.
    assert_eq!(keystore.sr25519_vrf_sign(key_types::BABE, &sr25519::Public([9; 32]), &data), Ok(None));
}

#[test]
fn grandpa_equivocation_is_refused_and_unknown_keys_are_none() {
    let signer = DevSigner::start(&[]);
    for (keystore, round) in [(signer.keystore(), 77u64), (uncached(&signer), 78u64)] {
        for stage in [0u8, 1u8] {
            let vote = grandpa_vote(stage, 0x9a, 123_456, round, 5);
            let signature = keystore.ed25519_sign(key_types::GRANDPA, &alice_ed25519(), &vote).unwrap().unwrap();
            assert!(ed25519_valid(&unhex(ALICE_ED25519), &vote, &signature.0));
            // Re-signing the same vote is allowed, and ed25519 gives the same bytes.
            assert_eq!(keystore.ed25519_sign(key_types::GRANDPA, &alice_ed25519(), &vote), Ok(Some(signature)));
            let equivocation = grandpa_vote(stage, 0x9b, 123_457, round, 5);
            match keystore.ed25519_sign(key_types::GRANDPA, &alice_ed25519(), &equivocation) {
                Err(Error::Other(message)) => assert!(message.contains("refused") && message.contains(&format!("round={round}")), "{message}"),
                other => panic!("equivocation answered {other:?}"),
            }
        }
        // A key not held: None whether the cache (first keystore) or the signer (PAIR_NOT_FOUND) says so.
        let vote = grandpa_vote(0, 0x11, 99, round + 100, 5);
        assert_eq!(keystore.ed25519_sign(key_types::GRANDPA, &ed25519::Public([7; 32]), &vote), Ok(None));
        assert_eq!(keystore.sr25519_sign(key_types::PARACHAIN, &sr25519::Public([7; 32]), b"x"), Ok(None));
        assert_eq!(keystore.ecdsa_sign_prehashed(key_types::BEEFY, &ecdsa::Public([2; 33]), &[1; 32]), Ok(None));
        assert_eq!(keystore.sign_with(key_types::GRANDPA, ed25519::CRYPTO_ID, &[7; 32], &vote), Ok(None));
        // A key type this node has no grant for: denied, an error (never a silent local fallback).
        let denied = keystore.ed25519_sign(KeyTypeId(*b"imon"), &alice_ed25519(), b"x");
        assert!(matches!(denied, Err(Error::Other(ref m)) if m.contains("denied")), "{denied:?}");
    }
    // An identity that is known but granted nothing sees no keys and signs nothing.
    let intruder = RemoteKeystore::connect(signer.config_as("intruder")).unwrap();
    assert!(intruder.ed25519_public_keys(key_types::GRANDPA).is_empty());
    assert!(!intruder.has_keys(&[(unhex(ALICE_ED25519), key_types::GRANDPA)]));
}

#[test]
fn babe_seals_and_beefy_votes_are_signed_only_with_their_preimage() {
    let signer = DevSigner::start(&[]);
    let keystore = signer.keystore();
    let header = babe_header(9001, 500, 0x02);
    let hash = blake2_256(&header);
    let alice = unhex(ALICE_SR25519);
    // Without the header the signer cannot see the slot: refused, and the node sees Err(Other).
    match keystore.sign_with(key_types::BABE, sr25519::CRYPTO_ID, &alice, &hash) {
        Err(Error::Other(message)) => assert!(message.contains("refused"), "{message}"),
        other => panic!("a seal without its header answered {other:?}"),
    }
    let seal = keystore.sign_with_preimage(key_types::BABE, sr25519::CRYPTO_ID, &alice, &hash, &header).unwrap().unwrap();
    assert!(verify("sr25519", &alice, &hash, &seal, false));
    assert!(keystore.sign_with_preimage(key_types::BABE, sr25519::CRYPTO_ID, &alice, &hash, &header).unwrap().is_some());
    // A second block in the same slot, and a header that is not the hash's preimage: refused.
    let other = babe_header(9001, 500, 0x09);
    let refused = keystore.sign_with_preimage(key_types::BABE, sr25519::CRYPTO_ID, &alice, &blake2_256(&other), &other);
    assert!(matches!(refused, Err(Error::Other(ref m)) if m.contains("slot=9001")), "{refused:?}");
    // The typed method BABE calls: the same seal again (an identical re-sign), and the refusal without a header.
    let typed = keystore.sr25519_sign_with_preimage(key_types::BABE, &alice_sr25519(), &hash, &header).unwrap().unwrap();
    assert!(verify("sr25519", &alice, &hash, &typed.0, false));
    assert!(matches!(keystore.sr25519_sign(key_types::BABE, &alice_sr25519(), &hash), Err(Error::Other(_))));
    let mismatch = babe_header(9002, 501, 0x02);
    assert!(matches!(keystore.sign_with_preimage(key_types::BABE, sr25519::CRYPTO_ID, &alice, &hash, &mismatch), Err(_)));

    let commitment = beefy_commitment(0x5e, 4000, 9);
    let digest = keccak_256(&commitment);
    match keystore.ecdsa_sign_prehashed(key_types::BEEFY, &alice_ecdsa(), &digest) {
        Err(Error::Other(message)) => assert!(message.contains("refused"), "{message}"),
        other => panic!("a BEEFY vote without its commitment answered {other:?}"),
    }
    let vote = keystore.ecdsa_sign_prehashed_with_preimage(key_types::BEEFY, &alice_ecdsa(), &digest, &commitment);
    let vote = vote.unwrap().unwrap();
    assert!(verify("ecdsa", &unhex(ALICE_ECDSA), &digest, &vote.0, true));
    let conflicting = beefy_commitment(0x5f, 4000, 9);
    let refused = keystore.ecdsa_sign_prehashed_with_preimage(key_types::BEEFY, &alice_ecdsa(), &keccak_256(&conflicting), &conflicting);
    assert!(matches!(refused, Err(Error::Other(ref m)) if m.contains("block=4000")), "{refused:?}");
}

#[test]
fn unsupported_schemes_answer_as_a_keystore_without_such_keys() {
    let signer = DevSigner::start(&[]);
    let keystore = signer.keystore();
    let gran = key_types::GRANDPA;
    assert!(keystore.bls381_public_keys(gran).is_empty());
    assert!(keystore.ecdsa_bls381_public_keys(gran).is_empty());
    assert!(keystore.bandersnatch_public_keys(gran).is_empty());
    assert_eq!(keystore.bls381_generate_new(gran, None), Err(Error::KeyNotSupported(gran)));
    assert_eq!(keystore.ecdsa_bls381_generate_new(gran, None), Err(Error::KeyNotSupported(gran)));
    assert_eq!(keystore.bandersnatch_generate_new(gran, None), Err(Error::KeyNotSupported(gran)));
    assert_eq!(keystore.bls381_sign(gran, &bls381::Public(vec![1; 144]), b"m"), Ok(None));
    assert_eq!(keystore.bls381_generate_proof_of_possession(gran, &bls381::Public(vec![1; 144]), b"owner"), Ok(None));
    assert_eq!(keystore.ecdsa_bls381_sign(gran, &ecdsa_bls381::Public(vec![1; 177]), b"m"), Ok(None));
    assert_eq!(keystore.ecdsa_bls381_sign_with_keccak256(gran, &ecdsa_bls381::Public(vec![1; 177]), b"m"), Ok(None));
    let band = bandersnatch::Public(vec![1; 32]);
    assert_eq!(keystore.bandersnatch_sign(gran, &band, b"m"), Ok(None));
    assert_eq!(keystore.bandersnatch_vrf_sign(gran, &band, &bandersnatch::VrfSignData(vec![1])), Ok(None));
    assert_eq!(keystore.bandersnatch_vrf_pre_output(gran, &band, &bandersnatch::VrfInput(vec![1])), Ok(None));
    let prover = bandersnatch::RingProver(vec![1]);
    assert_eq!(keystore.bandersnatch_ring_vrf_sign(gran, &band, &bandersnatch::VrfSignData(vec![1]), &prover), Ok(None));
    for crypto_id in [bls381::CRYPTO_ID, ecdsa_bls381::CRYPTO_ID, bandersnatch::CRYPTO_ID] {
        assert_eq!(keystore.sign_with(gran, crypto_id, &[1; 32], b"m"), Ok(None));
    }
}

#[test]
fn a_signer_down_is_unavailable_within_the_deadline_then_recovers() {
    let mut signer = DevSigner::start(&[]);
    // Long enough that a resumed signerd, on a loaded two-core machine, answers the next call within it (with
    // 0.8 s and 1.5 s that call sometimes did not); short enough to keep the test brief.
    let deadline = Duration::from_millis(3000);
    let mut config = signer.config();
    config.call_timeout = deadline;
    let keystore = RemoteKeystore::connect(config).unwrap();
    let sign = |round: u64| keystore.ed25519_sign(key_types::GRANDPA, &alice_ed25519(), &grandpa_vote(0, 0x21, 10, round, 1));
    assert!(matches!(sign(1), Ok(Some(_))));

    // Paused: the connection is up but nothing answers; the call ends at the deadline.
    signer.pause();
    let started = Instant::now();
    assert_eq!(sign(2), Err(Error::Unavailable));
    let waited = started.elapsed();
    assert!(waited >= deadline && waited < deadline + Duration::from_millis(1000), "waited {waited:?}");
    signer.resume();
    let resumed = sign(3);
    assert!(matches!(resumed, Ok(Some(_))), "answers again once resumed: {resumed:?}");

    // Killed: no signature, and no local fallback; cached answers (listing, keys not held) need no signer.
    signer.kill();
    let started = Instant::now();
    assert_eq!(sign(4), Err(Error::Unavailable));
    assert!(started.elapsed() < deadline, "a refused connection fails at once");
    assert_eq!(keystore.ed25519_public_keys(key_types::GRANDPA), vec![alice_ed25519()]);
    assert!(keystore.has_keys(&[(unhex(ALICE_ED25519), key_types::GRANDPA)]));
    assert_eq!(keystore.ed25519_sign(key_types::GRANDPA, &ed25519::Public([7; 32]), b"x"), Ok(None));
    // A key type never listed before cannot be learned while the signer is down.
    assert_eq!(keystore.sr25519_sign(key_types::PARACHAIN, &alice_sr25519(), b"x"), Err(Error::Unavailable));
    assert!(keystore.sr25519_public_keys(key_types::PARACHAIN).is_empty());

    // Back on the same port: the next call reconnects and signs.
    signer.restart();
    assert!(matches!(sign(5), Ok(Some(_))), "signs again after the signer returns; log:\n{}", signer.log());
    assert_eq!(keystore.sr25519_public_keys(key_types::PARACHAIN), vec![alice_sr25519()]);
}

#[test]
fn calls_work_from_inside_a_node_s_async_runtime() {
    let signer = DevSigner::start(&[]);
    let keystore = std::sync::Arc::new(signer.keystore());
    let multi = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let from_task = keystore.clone();
    let listed = multi.block_on(async move {
        tokio::spawn(async move { from_task.ed25519_public_keys(key_types::GRANDPA) }).await.unwrap()
    });
    assert_eq!(listed, vec![alice_ed25519()]);
    let single = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let from_task = keystore.clone();
    let signed = single.block_on(async move { from_task.sr25519_sign(key_types::AUTHORITY_DISCOVERY, &alice_sr25519(), b"record") });
    assert!(matches!(signed, Ok(Some(_))), "{signed:?}");
    // Dropping the keystore inside a runtime must not panic either.
    let last = std::sync::Arc::try_unwrap(keystore).ok().expect("only reference");
    single.block_on(async move { drop(last) });
}

#[test]
fn a_stale_cache_answers_at_once_and_refreshes_in_the_background() {
    let seeded = account_vector_cases()
        .into_iter()
        .find(|case| case["scheme"] == "ed25519" && case["suri"].as_str().unwrap().starts_with("0x"))
        .unwrap();
    let public = seeded["public_hex"].as_str().unwrap().to_string();
    let signer = DevSigner::start(&[account_grant(&[public.clone()])]);
    let mut config = signer.config();
    // Stale as soon as it is filled: every use after the first starts a background refresh.
    config.key_cache_ttl = Some(Duration::from_nanos(1));
    let watching = RemoteKeystore::connect(config).unwrap();
    assert!(watching.ed25519_public_keys(ACCOUNT).is_empty());

    // Another keystore (another node process, say) adds the key; the first one's cache does not know yet.
    let adding = signer.keystore();
    adding.ed25519_generate_new(ACCOUNT, Some(seeded["suri"].as_str().unwrap())).unwrap();
    let expected = vec![ed25519::Public(unhex_array(&public))];

    // The stale list is answered at once (the refresh this call starts cannot have finished before it returns),
    // and the refresh then replaces it without any call waiting for it.
    let first = watching.ed25519_public_keys(ACCOUNT);
    assert!(first.is_empty(), "answered {first:?}, so it waited for the signer");
    let limit = Instant::now() + Duration::from_secs(30);
    let mut seen = first;
    while seen != expected && Instant::now() < limit {
        std::thread::yield_now();
        seen = watching.ed25519_public_keys(ACCOUNT);
    }
    assert_eq!(seen, expected, "the background refresh never brought the new key");
    assert!(watching.has_keys(&[(unhex(&public), ACCOUNT)]));
}
