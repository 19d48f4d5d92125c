// Shared helpers for the oracle scripts: loading the pinned packages, a seeded RNG, and an independent
// schnorrkel VRF (Merlin from @scure/sr25519, ristretto255 from the @noble/curves copy it ships with).
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const nodeCrypto = require('node:crypto');
const { createRequire } = require('node:module');
const { pathToFileURL } = require('node:url');

const ORACLE_DIR = __dirname;

// loadOracles fails early with the one instruction that fixes a missing install, instead of a
// module-not-found stack trace. It is async because @scure/sr25519 and the @noble/curves copy it
// ships with are ES modules: require() loads those only from Node 20.19, dynamic import() on every
// Node this directory supports (18.19, Debian 12's own, and later).
async function loadOracles() {
  if (!fs.existsSync(path.join(ORACLE_DIR, 'node_modules', '@polkadot', 'util-crypto'))) {
    console.error('oracle packages are missing: run npm ci in tests/oracle');
    process.exit(2);
  }
  const utilCrypto = require('@polkadot/util-crypto');
  const util = require('@polkadot/util');
  const { Keyring } = require('@polkadot/keyring');
  const wasm = require('@polkadot/wasm-crypto');
  // Resolved to a file first so the import sees the same copy the CommonJS resolver would pick.
  const scureEntry = require.resolve('@scure/sr25519');
  const scure = await import(pathToFileURL(scureEntry).href);
  // The VRF checks must use the very curve code @scure/sr25519 was released with, so resolve
  // @noble/curves from its location rather than whatever copy the top level holds.
  const nobleEntry = createRequire(scureEntry).resolve('@noble/curves/ed25519.js');
  const nobleEd = await import(pathToFileURL(nobleEntry).href);
  const bip39 = require('@polkadot/util-crypto/mnemonic/bip39');
  return { utilCrypto, util, Keyring, wasm, scure, nobleEd, bip39 };
}

function packageVersions() {
  const names = [
    '@polkadot/util-crypto',
    '@polkadot/util',
    '@polkadot/keyring',
    '@polkadot/wasm-crypto',
    '@scure/sr25519',
  ];
  const lock = JSON.parse(fs.readFileSync(path.join(ORACLE_DIR, 'package-lock.json'), 'utf8'));
  return names.map((n) => `${n}@${lock.packages[`node_modules/${n}`].version}`).join(', ');
}

// SeededRng is SHA-256 in counter mode: reproducible from the printed seed, good enough to pick test
// inputs (it is never used for keys that protect anything).
class SeededRng {
  constructor(seed) {
    this.seed = String(seed);
    this.counter = 0;
    this.pool = Buffer.alloc(0);
  }
  bytes(n) {
    while (this.pool.length < n) {
      const block = nodeCrypto
        .createHash('sha256')
        .update(`${this.seed}/${this.counter++}`)
        .digest();
      this.pool = Buffer.concat([this.pool, block]);
    }
    const out = Uint8Array.from(this.pool.subarray(0, n));
    this.pool = this.pool.subarray(n);
    return out;
  }
  // int returns a uniform integer in [0, bound) for bound <= 2^32.
  int(bound) {
    const limit = Math.floor(0x100000000 / bound) * bound;
    for (;;) {
      const v = Buffer.from(this.bytes(4)).readUInt32LE(0);
      if (v < limit) return v % bound;
    }
  }
  bool() {
    return this.int(2) === 1;
  }
  pick(list) {
    return list[this.int(list.length)];
  }
}

const hex = (u8) => Buffer.from(u8).toString('hex');
const unhex = (s) => Uint8Array.from(Buffer.from(s.startsWith('0x') ? s.slice(2) : s, 'hex'));
const utf8 = (s) => Uint8Array.from(Buffer.from(s, 'utf8'));

// A transcript as data: { label: Uint8Array, items: [[Uint8Array label, Uint8Array message], ...] }.
// toWire/fromWire convert to the hex form the bridge and the vector files use.
function transcriptToWire(t) {
  return {
    label_hex: hex(t.label),
    items: t.items.map(([l, m]) => ({ label_hex: hex(l), message_hex: hex(m) })),
  };
}

// babeTranscript is sc_consensus_babe's slot-claim input: Merlin("BABE") with slot, epoch, randomness.
function babeTranscript(slot, epoch, randomness) {
  const le64 = (v) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    return Uint8Array.from(b);
  };
  return {
    label: utf8('BABE'),
    items: [
      [utf8('slot number'), le64(slot)],
      [utf8('current epoch'), le64(epoch)],
      [utf8('chain randomness'), randomness],
    ],
  };
}

// signingContextTranscript is schnorrkel's signing_context(ctx).bytes(msg), the transcript the
// polkadot-js VRF API (vrfSign / sr25519VrfSign) takes; extraTranscript is its extra transcript.
function signingContextTranscript(context, message) {
  return {
    label: utf8('SigningContext'),
    items: [
      [new Uint8Array(0), context],
      [utf8('sign-bytes'), message],
    ],
  };
}
function extraTranscript(extra) {
  return { label: utf8('VRF'), items: extra.length ? [[new Uint8Array(0), extra]] : [] };
}

// IndependentVrf re-implements schnorrkel's VRF (Kusama mode) from the spec on top of @scure/sr25519's
// Merlin, so transcripts of any shape (BABE, assignments) can be checked, not only signing contexts.
class IndependentVrf {
  constructor(oracles) {
    this.Merlin = oracles.scure.__tests.Merlin;
    this.Point = oracles.nobleEd.ristretto255.Point;
    this.hasher = oracles.nobleEd.ristretto255_hasher;
    this.order = oracles.nobleEd.ed25519.Point.Fn.ORDER;
  }
  merlin(t) {
    const m = new this.Merlin(t.label);
    for (const [label, message] of t.items) m.appendMessage(label, message);
    return m;
  }
  leToBig(u8) {
    return BigInt('0x' + (hex(Uint8Array.from(u8).reverse()) || '0'));
  }
  bigToLe32(n) {
    const out = new Uint8Array(32);
    let v = n;
    for (let i = 0; i < 32; i++) {
      out[i] = Number(v & 0xffn);
      v >>= 8n;
    }
    return out;
  }
  // inputPoint is schnorrkel's vrf_hash: commit the public key, then map 64 challenge bytes to a point.
  inputPoint(t, publicKey) {
    const m = this.merlin(t);
    m.appendMessage('vrf-nm-pk', publicKey);
    return this.hasher.deriveToCurve(m.challengeBytes('VRFHash', 64));
  }
  // scalarFromScureSecret reads the secret scalar from @scure/polkadot-js 64-byte secrets, which
  // store 8·a rather than a.
  scalarFromScureSecret(secretKey) {
    return this.leToBig(secretKey.subarray(0, 32)) >> 3n;
  }
  preOutput(t, secretKey) {
    const a = this.scalarFromScureSecret(secretKey);
    const pub = this.Point.BASE.multiply(a).toBytes();
    return this.inputPoint(t, pub).multiply(a).toBytes();
  }
  // verify checks a 96-byte pre_output || c || s proof; false on any malformed part.
  verify(publicKey, input, extra, signature) {
    try {
      if (signature.length !== 96 || publicKey.length !== 32) return false;
      const pk = this.Point.fromBytes(publicKey);
      const out = this.Point.fromBytes(signature.subarray(0, 32));
      const c = this.leToBig(signature.subarray(32, 64));
      const s = this.leToBig(signature.subarray(64, 96));
      if (c >= this.order || s >= this.order) return false;
      if (pk.equals(this.Point.ZERO) || out.equals(this.Point.ZERO)) return false;
      const h = this.inputPoint(input, publicKey);
      const e = this.merlin(extra || { label: utf8('VRF'), items: [] });
      e.appendMessage('proto-name', 'DLEQProof');
      e.appendMessage('vrf:h', h.toBytes());
      const r = pk.multiplyUnsafe(c).add(this.Point.BASE.multiplyUnsafe(s));
      e.appendMessage('vrf:R=g^r', r.toBytes());
      const hr = out.multiplyUnsafe(c).add(h.multiplyUnsafe(s));
      e.appendMessage('vrf:h^r', hr.toBytes());
      e.appendMessage('vrf:pk', publicKey);
      e.appendMessage('vrf:h^sk', out.toBytes());
      const expected = this.leToBig(e.challengeBytes('prove', 64)) % this.order;
      return expected === c;
    } catch {
      return false;
    }
  }
  // makeBytes is schnorrkel's VRFInOut::make_bytes.
  makeBytes(input, publicKey, preOutput, context, length) {
    const h = this.inputPoint(input, publicKey);
    const m = new this.Merlin('VRFResult');
    m.appendMessage('', context);
    m.appendMessage('vrf-in', h.toBytes());
    m.appendMessage('vrf-out', preOutput);
    return m.challengeBytes('', length);
  }
}

const DEV_PHRASE = 'bottom drive obey lake curtain smoke basket hold race lonely fit walk';

// oraclePair derives a keypair the way polkadot-js does for `suri`, or returns null if it refuses.
function oraclePair(oracles, scheme, suri) {
  try {
    // Substrate reads a missing phrase as the dev phrase before any path (sp_core test
    // default_phrase_should_be_used); Keyring only does so before "//", so spell it out.
    const full = suri.startsWith('/') ? `${DEV_PHRASE}${suri}` : suri;
    return new oracles.Keyring({ type: scheme }).createFromUri(full);
  } catch {
    return null;
  }
}

// oracleSecret returns the polkadot-js {publicKey, secretKey} behind a SURI (sr25519 secrets in the
// 8·a || nonce form) by the same steps Keyring.createFromUri takes.
function oracleSecret(oracles, scheme, suri) {
  const { utilCrypto, util } = oracles;
  const full = suri.startsWith('/') ? `${DEV_PHRASE}${suri}` : suri;
  const { path: junctions, password, phrase } = utilCrypto.keyExtractSuri(full);
  const seed = util.isHex(phrase, 256)
    ? unhex(phrase)
    : utilCrypto.mnemonicToMiniSecret(phrase, password);
  const fromSeed = {
    sr25519: utilCrypto.sr25519PairFromSeed,
    ed25519: utilCrypto.ed25519PairFromSeed,
    ecdsa: utilCrypto.secp256k1PairFromSeed,
  }[scheme];
  return utilCrypto.keyFromPath(fromSeed(seed), junctions, scheme);
}

module.exports = {
  DEV_PHRASE,
  oraclePair,
  oracleSecret,
  loadOracles,
  packageVersions,
  SeededRng,
  hex,
  unhex,
  utf8,
  transcriptToWire,
  babeTranscript,
  signingContextTranscript,
  extraTranscript,
  IndependentVrf,
};
