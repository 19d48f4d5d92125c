// The payout's independent check (rpc-pool-payout --check-command): reads a signed extrinsic as hex
// on stdin and exits 0 only if polkadot-js, with the pinned static metadata of --chain, decodes it
// as a v4 extrinsic signed (sr25519) by the expected signer over the payload an immortal era with
// the pinned spec/transaction version and genesis gives, whose call is utility.batchAll of exactly
// the expected balances.transferKeepAlive calls, in order.
// Usage: node check-payout-extrinsic.js --chain polkadot|kusama --expect EXPECT.json < extrinsic.hex
// EXPECT.json: {"signer": "<32-byte hex>", "nonce": N, "transfers": [{"account": "<hex>", "amount": "<decimal>"}]}
// Also a module: checkPayoutExtrinsic(chain, expect, hex) resolves to the summary line or rejects
// with a Refusal, so that a test can judge many extrinsics in one process.
'use strict';

const fs = require('fs');
const { cryptoWaitReady, blake2AsU8a, decodeAddress, sr25519Verify } = require('@polkadot/util-crypto');
const { u8aToHex } = require('@polkadot/util');
const { loadChain, makeProfile } = require('./payout_common');

function fail (reason) {
  console.error(`check-payout-extrinsic: refused: ${reason}`);
  process.exit(1);
}

function arg (name) {
  const at = process.argv.indexOf(name);
  if (at < 0 || at + 1 >= process.argv.length) fail(`missing ${name}`);
  return process.argv[at + 1];
}

// Refusal is a check's verdict "no", as opposed to a failure of the check itself.
class Refusal extends Error {}

function refuse (reason) {
  throw new Refusal(reason);
}

const hex = (text) => '0x' + String(text).toLowerCase().replace(/^0x/, '');

async function checkPayoutExtrinsic (chain, expect, input) {
  await cryptoWaitReady();
  if (!/^(0x)?[0-9a-fA-F]+$/.test(input)) refuse('the extrinsic is not hex');
  const { registry } = loadChain(chain);
  const profile = makeProfile(chain);

  let extrinsic;
  try {
    extrinsic = registry.createType('Extrinsic', hex(input));
  } catch (error) {
    refuse(`does not decode: ${error.message}`);
  }
  if (extrinsic.toHex() !== hex(input)) refuse('trailing or non-canonical bytes');
  if (extrinsic.version !== 0x84 || !extrinsic.isSigned) refuse('not a signed v4 extrinsic');
  const signer = u8aToHex(decodeAddress(extrinsic.signer.toString()));
  if (signer !== hex(expect.signer)) refuse(`signer ${signer}, expected ${hex(expect.signer)}`);
  const inner = extrinsic.inner.signature;
  if (inner.multiSignature.type !== 'Sr25519') refuse(`signature is ${inner.multiSignature.type}, not Sr25519`);
  if (inner.mode.toNumber() !== 0) refuse('CheckMetadataHash mode is not Disabled');
  if (!extrinsic.era.isImmortalEra) refuse('era is not immortal');
  if (extrinsic.nonce.toNumber() !== expect.nonce) refuse(`nonce ${extrinsic.nonce}, expected ${expect.nonce}`);
  if (extrinsic.tip.unwrap().toString() !== '0') refuse('tip is not 0');

  const method = extrinsic.method;
  if (method.section !== 'utility' || method.method !== 'batchAll') {
    refuse(`call is ${method.section}.${method.method}, not utility.batchAll`);
  }
  const calls = method.args[0];
  if (calls.length !== expect.transfers.length) refuse(`${calls.length} calls, expected ${expect.transfers.length}`);
  calls.forEach((call, i) => {
    if (call.section !== 'balances' || call.method !== 'transferKeepAlive') {
      refuse(`call ${i} is ${call.section}.${call.method}`);
    }
    const [dest, value] = call.args;
    if (dest.type !== 'Id') refuse(`call ${i}: destination is not MultiAddress::Id`);
    if (dest.value.toHex() !== hex(expect.transfers[i].account)) refuse(`call ${i}: destination ${dest.value.toHex()}`);
    if (value.unwrap().toString() !== String(expect.transfers[i].amount)) refuse(`call ${i}: amount ${value.unwrap()}`);
  });

  // The payload the signature must cover, rebuilt from the pinned profile, not from the extrinsic.
  const payload = registry.createType('ExtrinsicPayload', {
    method: method.toHex(),
    era: extrinsic.era,
    nonce: extrinsic.nonce,
    tip: extrinsic.tip,
    specVersion: profile.spec_version,
    transactionVersion: profile.transaction_version,
    genesisHash: profile.genesis_hash,
    blockHash: profile.genesis_hash,
    mode: 0,
    metadataHash: null
  }, { version: 4 });
  const bytes = payload.toU8a({ method: true });
  const message = bytes.length > 256 ? blake2AsU8a(bytes, 256) : bytes;
  const signature = extrinsic.signature.toU8a();
  if (!sr25519Verify(message, signature, decodeAddress(signer))) refuse('the signature does not verify');
  return `${chain}, ${calls.length} transfers, nonce ${expect.nonce}`;
}

async function main () {
  const chain = arg('--chain');
  const expect = JSON.parse(fs.readFileSync(arg('--expect'), 'utf8'));
  const input = fs.readFileSync(0, 'utf8').trim();
  console.log(`check-payout-extrinsic: ok: ${await checkPayoutExtrinsic(chain, expect, input)}`);
}

if (require.main === module) {
  main().catch((error) => fail(error.message));
}

module.exports = { checkPayoutExtrinsic, Refusal };
