#!/usr/bin/env python3
# Writes the seed corpora of the signer_kafka fuzz targets (run from the repository root).
#
# signer_kafka_claim_record_fuzz: claims-topic records laid out by hand from the tables "Claim
# record", "Import record" and "Prune record" of docs/kafka.md, with the //Alice public keys of docs/spec (ed25519, sr25519, the
# 33-byte ecdsa key) and the domain positions and digests of docs/history-format.md.
# signer_kafka_audit_tail_fuzz: operation programs in the target's input format (see the comment
# at the top of signer_kafka_audit_tail_fuzz.cc): in-order chains, reordering, loss, replays,
# tampering, forged seqs and non-JSON values.
import os
import struct

ALICE_ED25519 = bytes.fromhex("88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee")
ALICE_SR25519 = bytes.fromhex("d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d")
ALICE_ECDSA = bytes.fromhex("020a1091341fe5664bfa1782d5e04779689068c916b04cb365ec3153755684d9a1")
GENESIS = bytes.fromhex("91b171bb158e2d3848fa23a9f1c25182fb8e20313b2c1eb49219da7a70ce90c3")
CORPUS = "tests/fuzz/corpus"


def write(target, name, data):
    os.makedirs(f"{CORPUS}/{target}", exist_ok=True)
    with open(f"{CORPUS}/{target}/{name}", "wb") as out:
        out.write(data)


def claim(domain, major, minor, digest, candidate=bytes(32)):
    return (bytes([domain]) + struct.pack(">QQ", major, minor) + candidate + bytes([len(digest)]) +
            digest)


def claim_record(key_type, public_key, signer_id, request_byte, time_ms, claims):
    return (b"\x01" + key_type + bytes([len(public_key)]) + public_key + GENESIS +
            bytes([len(signer_id)]) + signer_id + bytes([request_byte]) * 16 +
            struct.pack(">Q", time_ms) + bytes([len(claims)]) + b"".join(claims))


def provenance(signer_id, request_byte, time_ms):
    return GENESIS + bytes([len(signer_id)]) + signer_id + bytes([request_byte]) * 16 + struct.pack(
        ">Q", time_ms)


def import_record(public_key, signer_id, request_byte, time_ms, text):
    return (b"\x02\x02" + bytes([len(public_key)]) + public_key +
            provenance(signer_id, request_byte, time_ms) + struct.pack(">I", len(text)) + text)


def prune_record(signer_id, request_byte, time_ms, partition, count, domain, major, minor):
    return (b"\x02\x03" + provenance(signer_id, request_byte, time_ms) +
            struct.pack(">IIBQQ", partition, count, domain, major, minor))


def claim_record_seeds():
    target = "signer_kafka_claim_record_fuzz"
    prevote_digest = bytes([0xAA]) * 32 + struct.pack("<I", 100)
    write(target, "grandpa_prevote_ed25519",
          claim_record(b"gran", ALICE_ED25519, b"signer-1", 0x11, 1_700_000_000_000,
                       [claim(2, 3, 7, prevote_digest)]))
    write(target, "babe_sr25519_no_signer_id",
          claim_record(b"babe", ALICE_SR25519, b"", 0x22, 1, [claim(1, 42, 0, bytes([0xBB]) * 32)]))
    write(target, "dispute_two_candidates",
          claim_record(b"para", ALICE_SR25519, b"signer-2", 0x33, 2,
                       [claim(5, 9, 0, b"\x01", bytes([0xC1]) * 32),
                        claim(5, 9, 0, b"\x00", bytes([0xC2]) * 32)]))
    approval = [claim(5, 12, 0, b"\x01", bytes([i % 256, i // 256]) + bytes(30)) for i in range(65)]
    write(target, "approval_65_candidates_version_2",
          b"\x02\x01" + claim_record(b"para", ALICE_SR25519, b"signer-3", 0x55, 4, [])[1:-1] +
          struct.pack(">H", len(approval)) + b"".join(approval))
    interchange = (b'{"metadata":{"interchange_format":"substrate-slashing-protection",'
                   b'"interchange_format_version":"1","genesis_hash":"0x' + GENESIS.hex().encode() +
                   b'"},"data":[{"public_key":"0x' + ALICE_ED25519.hex().encode() +
                   b'","domains":[{"domain":"grandpa_prevote","records":[{"set_id":"3",'
                   b'"round":"7","digests":["0x' + (bytes([0xAA]) * 36).hex().encode() +
                   b'"],"recorded_at_ms":"1"}]}]}]}')
    write(target, "import_one_key", import_record(ALICE_ED25519, b"signer-1", 0x66, 5, interchange))
    write(target, "prune_grandpa_prevote", prune_record(b"signer-1", 0x77, 6, 2, 8, 2, 3, 100))
    write(target, "beefy_ecdsa_max_signer_id",
          claim_record(b"beef", ALICE_ECDSA, b"s" * 128, 0x44, 3, [claim(4, 1, 500, bytes([0xDD]) * 32)]))


def audit_program(from_beginning, max_buffered, window_ms, operations):
    return bytes([int(from_beginning), max_buffered - 1, window_ms]) + b"".join(
        bytes(op) for op in operations)


PRODUCE, DELIVER, REDELIVER, ALTER, FORGE, RAW, EXPIRE, LOSE = range(8)


def audit_tail_seeds():
    target = "signer_kafka_audit_tail_fuzz"
    in_order = []
    for _ in range(4):
        in_order += [[PRODUCE, 1], [PRODUCE, 2], [DELIVER, 0, 1], [DELIVER, 0, 1]]
    write(target, "two_signers_in_order", audit_program(True, 16, 100, in_order))
    reordered = [[PRODUCE, 1]] * 5 + [[DELIVER, 4, 1], [DELIVER, 1, 1], [DELIVER, 0, 1],
                                      [DELIVER, 1, 1], [DELIVER, 0, 1]]
    write(target, "one_signer_reordered", audit_program(True, 16, 100, reordered))
    lossy = [[PRODUCE, 3]] * 6 + [[DELIVER, 0, 5], [LOSE, 0], [DELIVER, 0, 5], [EXPIRE, 50],
                                  [DELIVER, 1, 5], [DELIVER, 0, 5]]
    write(target, "loss_then_expire", audit_program(False, 4, 100, lossy))
    tampered = [[PRODUCE, 1]] * 3 + [[DELIVER, 0, 1], [REDELIVER, 0, 1], [ALTER, 0, 100, 0x20, 1],
                                     [DELIVER, 0, 1], [REDELIVER, 0, 1], [DELIVER, 0, 1]]
    write(target, "replay_and_tamper", audit_program(True, 8, 10, tampered))
    forged = [[PRODUCE, 2], [DELIVER, 0, 1], [FORGE, 2, 2, 5, 1], [FORGE, 2, 0, 4, 1],
              [FORGE, 2, 1] + list(struct.pack(">Q", 2**64 - 1)) + [1], [FORGE, 0, 6, 4, 1]]
    write(target, "forged_seqs", audit_program(False, 2, 0, forged))
    raw = b'{"seq":0,"prev":"' + b"0" * 64 + b'"}'
    values = [[RAW, 1, len(raw)] + list(raw) + [1], [RAW, 1, 3] + list(b"{}\n") + [1],
              [RAW, 2, 13] + list(b'{"seq":-1,"p"') + [1], [RAW, 0, len(raw)] + list(raw) + [1]]
    write(target, "raw_values", audit_program(True, 1, 1, values))


if __name__ == "__main__":
    claim_record_seeds()
    audit_tail_seeds()
