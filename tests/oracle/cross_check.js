// Cross-checks keymgr (through oracle_bridge) against the npm oracles with seeded random inputs, both ways.
// Usage: node cross_check.js --bridge PATH [--seed S] [--cases N]   (N per scheme and check, default 500)
// Exit status: 0 all agree, 1 a mismatch (the first few are printed), 2 a setup problem.
'use strict';

const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const common = require('./oracle_common.js');

const { hex, unhex, utf8 } = common;

function parseArgs(argv) {
  const args = { bridge: null, seed: null, cases: 500 };
  for (let i = 2; i < argv.length; i++) {
    const value = argv[i + 1];
    if (argv[i] === '--bridge') args.bridge = value;
    else if (argv[i] === '--seed') args.seed = value;
    else if (argv[i] === '--cases') args.cases = Number(value);
    else {
      console.error(`unknown argument ${argv[i]}`);
      process.exit(2);
    }
    i++;
  }
  if (!args.bridge || !fs.existsSync(args.bridge)) {
    console.error('usage: node cross_check.js --bridge PATH_TO_oracle_bridge [--seed S] [--cases N]');
    process.exit(2);
  }
  if (!Number.isInteger(args.cases) || args.cases < 1) {
    console.error('--cases must be a positive integer');
    process.exit(2);
  }
  args.seed = args.seed ?? process.env.ORACLE_SEED ?? String(Date.now());
  return args;
}

const args = parseArgs(process.argv);
// Filled in by main() once the oracle packages have loaded (some are ES modules, loaded
// asynchronously); every function below runs after that.
let oracles;
let utilCrypto;
let wasm;
let scure;
let bip39;
let ivrf;
const rng = new common.SeededRng(args.seed);
const N = args.cases;
const SS58_PREFIXES = [0, 2, 42];
const PRINTABLE = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).filter((c) => c !== '/');
const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

// ---------------------------------------------------------------------------------------------
// Random inputs. Junction texts avoid the two places polkadot-js knowingly departs from Substrate:
// a "0x…" junction (polkadot-js decodes it as hex bytes) and a number above u64 (polkadot-js keeps it a
// number, Substrate makes it a string).

function randomString(alphabet, min, max) {
  const length = min + rng.int(max - min + 1);
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[rng.int(alphabet.length)];
  return out;
}

function randomJunctionText() {
  for (;;) {
    let text;
    switch (rng.int(5)) {
      case 0:
        text = String(rng.int(1000));
        break;
      case 1: {
        const v = BigInt('0x' + hex(rng.bytes(8)));
        text = v.toString();
        break;
      }
      case 2:
        text = randomString(ALNUM, 1, 12);
        break;
      case 3:
        text = randomString(PRINTABLE, 1, 20);
        break;
      default:
        text = randomString(PRINTABLE, 33, 80);  // longer than 32 bytes: blake2_256'd
    }
    // Substrate's junction parse (Rust's u64 parse, which keymgr follows) reads "+7" as the number 7;
    // polkadot-js's /^\d+$/ reads it as text, so the oracle cannot judge such a junction.
    if (!/^0x/i.test(text) && !/^\+\d+$/.test(text)) return text;
  }
}

function randomPhrase() {
  return bip39.entropyToMnemonic(rng.bytes(rng.pick([16, 20, 24, 28, 32])));
}

// randomSuri builds phrase/dev/0x-seed roots, 0–4 junctions (soft ones only where the scheme allows
// them) and sometimes a password.
function randomSuri(scheme) {
  const root = rng.int(10);
  const junctions = [];
  const count = rng.int(5);
  for (let i = 0; i < count; i++) {
    const soft = scheme === 'sr25519' && rng.int(3) === 0;
    junctions.push(`${soft ? '/' : '//'}${randomJunctionText()}`);
  }
  let suri;
  if (root < 6) suri = randomPhrase();
  else if (root < 8) suri = `0x${hex(rng.bytes(32))}`;
  else if (junctions.length > 0 && rng.bool()) suri = '';  // dev phrase implied, also before a soft "/"
  else suri = common.DEV_PHRASE;
  suri += junctions.join('');
  if (rng.int(3) === 0) suri += `///${randomString(PRINTABLE, 0, 20).replace(/^\/+/, '')}`;
  return suri;
}

function randomTranscript() {
  const items = [];
  const count = rng.int(5);
  for (let i = 0; i < count; i++) items.push([rng.bytes(rng.int(12)), rng.bytes(rng.int(300))]);
  return { label: rng.bytes(1 + rng.int(16)), items };
}

// ---------------------------------------------------------------------------------------------
// Requests and the checks to run on their answers.

const requests = [];
const checks = [];
const failures = new Map();
const counts = new Map();

function expect(category, ok, detail) {
  counts.set(category, (counts.get(category) || 0) + 1);
  if (ok) return;
  if (!failures.has(category)) failures.set(category, []);
  failures.get(category).push(detail);
}

// ask queues one bridge request; each [category, check] pair runs on its answer, and a check passes only
// by returning exactly true.
function ask(request, ...categorisedChecks) {
  requests.push(request);
  checks.push((result) => {
    for (const [category, check] of categorisedChecks) {
      if (!result || result.ok !== true) {
        expect(category, false, { request, error: result ? result.error : 'no result' });
        continue;
      }
      try {
        const verdict = check(result);
        expect(category, verdict === true, { request, result, verdict });
      } catch (err) {
        expect(category, false, { request, result, error: String(err) });
      }
    }
  });
}

const secretCache = new Map();
function secretOf(scheme, suri) {
  const key = `${scheme}\n${suri}`;
  if (!secretCache.has(key)) secretCache.set(key, common.oracleSecret(oracles, scheme, suri));
  return secretCache.get(key);
}

// A reused pool keeps the PBKDF2 cost of sign/VRF cases down; derivation cases each get a fresh SURI.
function keyPool(scheme, size) {
  return Array.from({ length: size }, () => randomSuri(scheme));
}

// refuses runs an oracle verifier on bad input; throwing counts as refusing.
function refuses(verify) {
  try {
    return verify() === false;
  } catch {
    return true;
  }
}

function flipBit(bytes) {
  const out = Uint8Array.from(bytes);
  const bit = rng.int(out.length * 8);
  out[bit >> 3] ^= 1 << (bit & 7);
  return out;
}

function planDerivations(scheme) {
  for (let i = 0; i < N; i++) {
    const suri = randomSuri(scheme);
    const pair = common.oraclePair(oracles, scheme, suri);
    if (pair === null) {
      expect(`derive/${scheme}/generator`, false, { suri, error: 'the oracle refused a generated SURI' });
      continue;
    }
    const expected = hex(pair.publicKey);
    ask({ op: 'derive', scheme, suri, ss58_prefixes: SS58_PREFIXES },
      [`derive/${scheme} public key`, (r) => r.public === expected],
      [`derive/${scheme} ss58`, (r) =>
        SS58_PREFIXES.every((p) => r.ss58[String(p)] === utilCrypto.encodeAddress(pair.publicKey, p))]);
  }
}

// corruptSuri spoils a valid SURI in ways both Substrate and polkadot-js must refuse.
function corruptSuri(scheme) {
  const phrase = randomPhrase();
  const words = phrase.split(' ');
  switch (rng.int(5)) {
    case 0: {  // two words swapped: usually breaks the checksum (kept only if the oracle refuses)
      const i = rng.int(words.length);
      const j = rng.int(words.length);
      [words[i], words[j]] = [words[j], words[i]];
      return words.join(' ');
    }
    case 1:  // a word dropped: no valid word count
      words.splice(rng.int(words.length), 1);
      return words.join(' ');
    case 2:  // a word outside the BIP-39 list
      words[rng.int(words.length)] = 'xyzzy';
      return words.join(' ');
    case 3:  // an empty junction
      return `${phrase}//${randomString(ALNUM, 1, 8)}${rng.pick(['//', '/'])}`;
    default:  // a soft junction where the scheme has none, or an empty hard one
      return scheme === 'sr25519' ? `${phrase}//` : `${phrase}/${randomString(ALNUM, 1, 8)}`;
  }
}

function planRefusals(scheme) {
  const wanted = Math.max(1, Math.floor(N / 5));
  for (let made = 0; made < wanted;) {
    const suri = corruptSuri(scheme);
    if (common.oraclePair(oracles, scheme, suri) !== null) continue;  // the corruption happened to be valid
    made++;
    requests.push({ op: 'derive', scheme, suri });
    checks.push((result) => expect(`derive/${scheme} refuses what the oracle refuses`,
      result && result.ok === false, { suri, result }));
  }
}

function planDeterministicSignatures(scheme, pool) {
  for (let i = 0; i < N; i++) {
    const suri = rng.pick(pool);
    const message = rng.bytes(rng.int(400));
    const pair = common.oraclePair(oracles, scheme, suri);
    const expected = hex(pair.sign(message));
    ask({ op: 'sign', scheme, suri, message: hex(message) },
      [`sign/${scheme} byte-identical`, (r) => r.signature === expected],
      [`sign/${scheme} verified by polkadot-js`, (r) => pair.verify(message, unhex(r.signature), pair.publicKey)]);
    if (scheme === 'ecdsa') {
      const digest = rng.bytes(32);
      const want = hex(wasm.secp256k1Sign(digest, secretOf('ecdsa', suri).secretKey));
      ask({ op: 'sign_prehashed', scheme, suri, digest: hex(digest) },
        ['sign_prehashed/ecdsa byte-identical', (r) => r.signature === want]);
    }
  }
}

function planSr25519Signatures(pool) {
  for (let i = 0; i < N; i++) {
    const suri = rng.pick(pool);
    const message = rng.bytes(rng.int(400));
    const { publicKey } = secretOf('sr25519', suri);
    ask({ op: 'sign', scheme: 'sr25519', suri, message: hex(message) },
      ['sign/sr25519 verified by schnorrkel (wasm)', (r) => wasm.sr25519Verify(unhex(r.signature), message, publicKey)],
      ['sign/sr25519 verified by @scure/sr25519', (r) => scure.verify(message, unhex(r.signature), publicKey)]);
  }
}

// planOracleSignatures: the oracles sign, keymgr must accept, and must refuse a one-bit change.
function planOracleSignatures(scheme, pool) {
  for (let i = 0; i < N; i++) {
    const suri = rng.pick(pool);
    const message = rng.bytes(rng.int(400));
    let publicKey;
    let signature;
    if (scheme === 'sr25519') {
      const sr = secretOf('sr25519', suri);
      publicKey = sr.publicKey;
      signature = i % 2 === 0
        ? wasm.sr25519Sign(sr.publicKey, sr.secretKey, message)
        : scure.sign(sr.secretKey, message, rng.bytes(32));
    } else {
      const pair = common.oraclePair(oracles, scheme, suri);
      publicKey = pair.publicKey;
      signature = pair.sign(message);
    }
    const base = { op: 'verify', scheme, public: hex(publicKey), message: hex(message) };
    ask({ ...base, signature: hex(signature) }, [`verify/${scheme} oracle signature`, (r) => r.valid === true]);
    const tampered = flipBit(signature);
    const oracleVerify = {
      sr25519: () => wasm.sr25519Verify(tampered, message, publicKey),
      ed25519: () => wasm.ed25519Verify(tampered, message, publicKey),
      ecdsa: () => utilCrypto.secp256k1Verify(message, tampered, publicKey, 'blake2'),
    }[scheme];
    const oracleRefuses = refuses(oracleVerify);
    ask({ ...base, signature: hex(tampered) },
      [`verify/${scheme} tampered oracle signature`, (r) => r.valid === false && oracleRefuses]);
  }
}

function planVrf(pool) {
  const wire = common.transcriptToWire;
  for (let i = 0; i < N; i++) {
    const suri = rng.pick(pool);
    const sr = secretOf('sr25519', suri);
    const kind = i % 3;
    let input;
    let extra = null;
    let context = null;
    if (kind === 0) {
      input = common.babeTranscript(BigInt('0x' + hex(rng.bytes(8))), BigInt('0x' + hex(rng.bytes(8))), rng.bytes(32));
    } else if (kind === 1) {
      context = { ctx: rng.bytes(rng.int(20)), msg: rng.bytes(rng.int(200)), extra: rng.bytes(rng.int(2) * rng.int(40)) };
      input = common.signingContextTranscript(context.ctx, context.msg);
      extra = common.extraTranscript(context.extra);
    } else {
      input = randomTranscript();
      if (rng.bool()) extra = randomTranscript();
    }
    const request = { op: 'vrf_sign', suri, input: wire(input) };
    if (extra) request.extra = wire(extra);
    const babeCtx = utf8('substrate-babe-vrf');
    request.make_bytes = { context: hex(babeCtx), length: 16 };
    const expectedPre = hex(ivrf.preOutput(input, sr.secretKey));

    const vrfChecks = [
      ['vrf_sign/pre-output matches independent VRF', (r) => r.pre_output === expectedPre],
      ['vrf_sign/proof verified by independent VRF', (r) =>
        r.public === hex(sr.publicKey) && ivrf.verify(sr.publicKey, input, extra, unhex(r.signature))],
      ['vrf_sign/make_bytes matches independent VRF', (r) =>
        r.output === hex(ivrf.makeBytes(input, sr.publicKey, unhex(r.pre_output), babeCtx, 16))],
    ];
    if (context) {
      vrfChecks.push(['vrf_sign/proof verified by schnorrkel (wasm)', (r) =>
        wasm.vrfVerify(sr.publicKey, context.ctx, context.msg, context.extra, unhex(r.signature))]);
      vrfChecks.push(['vrf_sign/proof verified by @scure/sr25519', (r) =>
        scure.vrf.verify(context.msg, unhex(r.signature), sr.publicKey, context.ctx, context.extra)]);
    }
    ask(request, ...vrfChecks);
    if (context) {
      // The other direction: schnorrkel proves, keymgr verifies and refuses a one-bit change.
      const oracleSig = wasm.vrfSign(sr.secretKey, context.ctx, context.msg, context.extra);
      const base = { op: 'vrf_verify', public: hex(sr.publicKey), input: wire(input), extra: wire(extra) };
      ask({ ...base, signature: hex(oracleSig) }, ['vrf_verify/schnorrkel proof', (r) => r.valid === true]);
      const tampered = flipBit(oracleSig);
      const oracleRefuses = refuses(() => wasm.vrfVerify(sr.publicKey, context.ctx, context.msg, context.extra, tampered));
      ask({ ...base, signature: hex(tampered) },
        ['vrf_verify/tampered schnorrkel proof', (r) => r.valid === false && oracleRefuses]);
      ask({ op: 'vrf_pre_output', suri, input: wire(input) },
        ['vrf_pre_output/matches schnorrkel', (r) => r.pre_output === hex(oracleSig.subarray(0, 32))]);
    } else {
      ask({ op: 'vrf_pre_output', suri, input: wire(input) },
        ['vrf_pre_output/matches independent VRF', (r) => r.pre_output === expectedPre]);
    }
  }
}

// planFrost: keymgr makes FROST aggregates (random t-of-n, a random signing set of at least t, random
// messages; half the keys split by the dealer from a SURI, half made by the DKG) and the oracles, which
// know nothing of FROST, must accept them as ordinary signatures of the group key.
function planFrost(scheme, pool) {
  const verifiers = {
    sr25519: [
      ['polkadot-js sr25519Verify', (m, sig, pk) => utilCrypto.sr25519Verify(m, sig, pk)],
      ['schnorrkel (wasm)', (m, sig, pk) => wasm.sr25519Verify(sig, m, pk)],
    ],
    ed25519: [
      ['polkadot-js ed25519Verify', (m, sig, pk) => utilCrypto.ed25519Verify(m, sig, pk)],
      ['node:crypto', (m, sig, pk) => crypto.verify(null, m, ed25519PublicKeyObject(pk), sig)],
    ],
  }[scheme];
  for (let i = 0; i < N; i++) {
    const min = 2 + rng.int(4);
    const max = min + rng.int(4);
    const ids = Array.from({ length: max }, (_, k) => k + 1);
    for (let k = ids.length - 1; k > 0; k--) {
      const j = rng.int(k + 1);
      [ids[k], ids[j]] = [ids[j], ids[k]];
    }
    const signers = ids.slice(0, min + rng.int(max - min + 1)).sort((a, b) => a - b);
    const message = rng.bytes(rng.int(400));
    const request = { op: 'frost_sign', scheme, min, max, signers, message: hex(message) };
    const frostChecks = [];
    if (i % 2 === 0) {
      request.keygen = 'dealer';
      request.suri = rng.pick(pool);
      const expected = hex(scheme === 'sr25519'
        ? secretOf('sr25519', request.suri).publicKey
        : common.oraclePair(oracles, scheme, request.suri).publicKey);
      frostChecks.push([`frost/${scheme} dealer split keeps the SURI's public key`, (r) => r.public === expected]);
    } else {
      request.keygen = 'dkg';
    }
    for (const [name, verify] of verifiers) {
      frostChecks.push([`frost/${scheme} aggregate verified by ${name}`, (r) =>
        verify(message, unhex(r.signature), unhex(r.public)) === true]);
      frostChecks.push([`frost/${scheme} aggregate with a flipped bit refused by ${name}`, (r) =>
        refuses(() => verify(message, flipBit(unhex(r.signature)), unhex(r.public)))]);
    }
    ask(request, ...frostChecks);
  }
}

// ed25519PublicKeyObject wraps a raw 32-byte key for node:crypto (SPKI DER prefix of RFC 8410).
function ed25519PublicKeyObject(publicKey) {
  const prefix = Buffer.from('302a300506032b6570032100', 'hex');
  return crypto.createPublicKey({ key: Buffer.concat([prefix, Buffer.from(publicKey)]), format: 'der', type: 'spki' });
}

function runBridge() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oracle-cross-check-'));
  const file = path.join(dir, 'requests.json');
  try {
    fs.writeFileSync(file, JSON.stringify({ requests }));
    const run = spawnSync(args.bridge, [file], { maxBuffer: 1 << 30, encoding: 'utf8' });
    if (run.error || run.status !== 0) {
      console.error(`oracle_bridge failed (status ${run.status}): ${run.error || run.stderr}`);
      process.exit(1);
    }
    const { results } = JSON.parse(run.stdout);
    if (!Array.isArray(results) || results.length !== requests.length) {
      console.error(`oracle_bridge answered ${results && results.length} of ${requests.length} requests`);
      process.exit(1);
    }
    return results;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  oracles = await common.loadOracles();
  ({ utilCrypto, wasm, scure, bip39 } = oracles);
  ivrf = new common.IndependentVrf(oracles);
  await utilCrypto.cryptoWaitReady();
  console.log(`cross_check: seed ${args.seed} (rerun with --seed ${args.seed}), ${N} cases per check`);
  console.log(`oracles: ${common.packageVersions()}`);
  const started = Date.now();
  const pools = {
    sr25519: keyPool('sr25519', 40),
    ed25519: keyPool('ed25519', 40),
    ecdsa: keyPool('ecdsa', 40),
  };
  for (const scheme of ['sr25519', 'ed25519', 'ecdsa']) {
    planDerivations(scheme);
    planRefusals(scheme);
  }
  planDeterministicSignatures('ed25519', pools.ed25519);
  planDeterministicSignatures('ecdsa', pools.ecdsa);
  planSr25519Signatures(pools.sr25519);
  for (const scheme of ['sr25519', 'ed25519', 'ecdsa']) planOracleSignatures(scheme, pools[scheme]);
  planVrf(pools.sr25519);
  planFrost('sr25519', pools.sr25519);
  planFrost('ed25519', pools.ed25519);

  const bridgeStarted = Date.now();
  const results = runBridge();
  const bridgeMs = Date.now() - bridgeStarted;
  results.forEach((result, i) => checks[i](result));

  for (const [category, count] of [...counts.entries()].sort()) {
    const failed = failures.has(category) ? failures.get(category).length : 0;
    console.log(`${failed ? 'FAIL' : 'ok  '} ${category}: ${count - failed}/${count}`);
  }
  console.log(`${requests.length} bridge requests in ${bridgeMs} ms; total ${Date.now() - started} ms`);
  if (failures.size === 0) return 0;
  for (const [category, list] of failures) {
    console.log(`\nfirst failures in ${category}:`);
    for (const detail of list.slice(0, 3)) console.log(JSON.stringify(detail).slice(0, 1500));
  }
  console.log(`\nMISMATCH: keymgr disagrees with the oracles (seed ${args.seed})`);
  return 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(2);
  },
);
