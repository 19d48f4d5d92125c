// Writes tests/vectors/payout/extrinsics.json: signed utility.batch_all payout extrinsics encoded by
// @polkadot/types from the pinned static metadata, signed by @polkadot/keyring. The C++ encoder
// (gateway/rpc_pool/src/payout_extrinsic.cc) must reproduce the call, the signing payload, the
// signed message and, given the signature recorded here, the whole extrinsic and its hash.
// Run: node tests/oracle/make-payout-vectors.js
'use strict';

const fs = require('fs');
const path = require('path');
const { Keyring } = require('@polkadot/keyring');
const { cryptoWaitReady, blake2AsU8a, decodeAddress, sr25519Verify } = require('@polkadot/util-crypto');
const { u8aToHex, u8aConcat } = require('@polkadot/util');
const { loadChain, makeProfile, packageVersion } = require('./payout_common');

const strip = (hex) => hex.replace(/^0x/, '');

// buildSigned encodes and signs one payout the way a wallet using polkadot-js would: immortal era,
// tip 0, CheckMetadataHash disabled (mode 0, no hash), the block hash of the era = genesis.
function buildSigned (chain, pair, nonce, transfers) {
  const { registry, decorated } = loadChain(chain);
  const profile = makeProfile(chain);
  const calls = transfers.map((t) =>
    decorated.tx.balances.transferKeepAlive({ Id: '0x' + t.account }, t.amount));
  const call = decorated.tx.utility.batchAll(calls);
  const payload = registry.createType('ExtrinsicPayload', {
    method: call.toHex(),
    era: '0x00',
    nonce,
    tip: 0,
    specVersion: profile.spec_version,
    transactionVersion: profile.transaction_version,
    genesisHash: profile.genesis_hash,
    blockHash: profile.genesis_hash,
    mode: 0,
    metadataHash: null
  }, { version: 4 });
  const payloadBytes = payload.toU8a({ method: true });
  // Substrate signs the payload itself up to 256 bytes, its blake2_256 above.
  const message = payloadBytes.length > 256 ? blake2AsU8a(payloadBytes, 256) : payloadBytes;
  const signature = pair.sign(message);
  if (!sr25519Verify(message, signature, pair.publicKey)) throw new Error('oracle signature does not verify');
  const extrinsic = registry.createType('Extrinsic', call);
  extrinsic.addSignature(pair.publicKey, u8aConcat(new Uint8Array([1]), signature), payload.toHex());
  // Decode what was built, as a node would, and check it says what was meant.
  const decoded = registry.createType('Extrinsic', extrinsic.toHex());
  if (!decoded.isSigned || u8aToHex(decodeAddress(decoded.signer.toString())) !== u8aToHex(pair.publicKey) ||
      decoded.nonce.toNumber() !== nonce || decoded.method.toHex() !== call.toHex()) {
    throw new Error('the extrinsic does not decode to what was built');
  }
  return {
    call: strip(call.toHex()),
    signing_payload: strip(u8aToHex(payloadBytes)),
    signed_message: strip(u8aToHex(message)),
    signature: strip(u8aToHex(signature)),
    extrinsic: strip(extrinsic.toHex()),
    tx_hash: strip(u8aToHex(blake2AsU8a(extrinsic.toU8a(), 256)))
  };
}

function account (byte) {
  return Buffer.alloc(32, byte).toString('hex');
}

async function main () {
  await cryptoWaitReady();
  const keyring = new Keyring({ type: 'sr25519' });
  const ferdie = keyring.addFromUri('//Ferdie');
  const cases = [
    { name: 'polkadot_two_payees_short_payload', chain: 'polkadot', nonce: 0,
      transfers: [{ account: account(1), amount: '10000000000' }, { account: account(2), amount: '1' }] },
    { name: 'polkadot_compact_edges', chain: 'polkadot', nonce: 1073741824,
      transfers: [{ account: account(3), amount: '63' }, { account: account(4), amount: '64' },
        { account: account(5), amount: '16383' }, { account: account(6), amount: '16384' },
        { account: account(7), amount: '1073741823' }, { account: account(8), amount: '1073741824' },
        { account: account(9), amount: '18446744073709551615' }] },
    { name: 'kusama_one_payee', chain: 'kusama', nonce: 63,
      transfers: [{ account: account(0xaa), amount: '123456789012' }] },
    { name: 'kusama_many_payees_hashed_payload', chain: 'kusama', nonce: 16384,
      transfers: Array.from({ length: 12 }, (_, i) => ({ account: account(0x10 + i), amount: String(1000000 * (i + 1)) })) }
  ];
  for (const c of cases) {
    c.signer = strip(u8aToHex(ferdie.publicKey));
    Object.assign(c, buildSigned(c.chain, ferdie, c.nonce, c.transfers));
  }
  const out = {
    source: `@polkadot/types ${packageVersion('@polkadot/types')} with the static metadata of ` +
      `@polkadot/types-support ${packageVersion('@polkadot/types-support')}, signed by ` +
      `@polkadot/keyring ${packageVersion('@polkadot/keyring')} (//Ferdie, sr25519; signatures are ` +
      'randomised, so a rerun changes signature, extrinsic and tx_hash only); tests/oracle/make-payout-vectors.js',
    cases
  };
  const file = path.join(__dirname, '..', 'vectors', 'payout', 'extrinsics.json');
  fs.writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  console.log(`wrote ${cases.length} cases to ${file}`);
}

main().catch((error) => { console.error(error); process.exit(1); });
