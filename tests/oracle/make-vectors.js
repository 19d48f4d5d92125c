// Writes the known-answer vector files in tests/vectors/ from the spec, RFC 8032 and the pinned npm oracles.
// Usage (from tests/oracle after `npm ci`): node make-vectors.js [OUT_DIR]
// Every value written is either copied from a published source and checked against an oracle here, or
// computed by an oracle; keymgr is never consulted, so the files can judge it.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const nodeCrypto = require('node:crypto');
const common = require('./oracle_common.js');

const { hex, unhex, utf8 } = common;
// Filled in by main() once the oracle packages have loaded (some are ES modules, loaded
// asynchronously); every function below runs after that.
let oracles;
let utilCrypto;
let util;
let Keyring;
let wasm;
let scure;
let bip39;

const OUT_DIR = path.resolve(process.argv[2] || path.join(__dirname, '..', 'vectors'));
const GENERATOR = `tests/oracle/make-vectors.js with ${common.packageVersions()} (node ${process.version})`;
const SS58_PREFIXES = [0, 2, 42];
const SCHEMES = ['sr25519', 'ed25519', 'ecdsa'];

function must(condition, what) {
  if (!condition) {
    console.error(`make-vectors: oracle disagrees: ${what}`);
    process.exit(1);
  }
}

function writeVectorFile(name, source, cases) {
  const names = new Set();
  for (const c of cases) {
    must(!names.has(c.name), `duplicate case name ${c.name} in ${name}`);
    names.add(c.name);
  }
  const file = path.join(OUT_DIR, name);
  fs.writeFileSync(file, JSON.stringify({ source, cases }, null, 1) + '\n');
  console.log(`wrote ${cases.length} cases to ${file}`);
}

const oraclePair = (scheme, suri) => common.oraclePair(oracles, scheme, suri);
const oracleSecret = (scheme, suri) => common.oracleSecret(oracles, scheme, suri);

function merlinCase(name, label, ops) {
  const m = new scure.__tests.Merlin(label);
  const wireOps = ops.map((op) => {
    if (op.append) {
      m.appendMessage(op.append, op.message);
      return { op: 'append', label_hex: hex(op.append), message_hex: hex(op.message) };
    }
    const out = m.challengeBytes(op.challenge, op.length);
    return { op: 'challenge', label_hex: hex(op.challenge), length: op.length, expected_hex: hex(out) };
  });
  return { type: 'merlin', name, label_hex: hex(label), ops: wireOps };
}

// ---------------------------------------------------------------------------------------------
// 1. The spec's known answers (substrate-signing.md sections 3 and 6), each checked against an oracle.
function specKnownAnswers() {
  const cases = [];
  const merlin = merlinCase('merlin_test_protocol', utf8('test protocol'), [
    { append: utf8('some label'), message: utf8('some data') },
    { challenge: utf8('challenge'), length: 32 },
  ]);
  must(
    merlin.ops[1].expected_hex === 'd5a21972d0d5fe320c0d263fac7fffb8145aa640af6e9bca177c03c7efcf0615',
    'Merlin known answer',
  );
  cases.push(merlin);

  const miniSecrets = [
    ['sr25519_mini_secret_9d61', '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
      '44a996beb1eef7bdcab976ab6d2ca26104834164ecf28fb375600576fcc6eb0f'],
    ['sr25519_mini_secret_ascii_digits', hex(utf8('12345678901234567890123456789012')),
      '741c08a06f41c596608f6774259bd9043304adfa5d3eea62760bd9be97634d63'],
  ];
  for (const [name, seed, pub] of miniSecrets) {
    must(hex(utilCrypto.sr25519PairFromSeed(unhex(seed)).publicKey) === pub, name);
    cases.push({ type: 'sr25519_from_mini_secret', name, mini_secret_hex: seed, public_hex: pub });
  }

  const alice = {
    sr25519: 'd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d',
    ed25519: '88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee',
    ecdsa: '020a1091341fe5664bfa1782d5e04779689068c916b04cb365ec3153755684d9a1',
  };
  for (const scheme of SCHEMES) {
    must(hex(oraclePair(scheme, '//Alice').publicKey) === alice[scheme], `//Alice ${scheme}`);
    cases.push({ type: 'derive', name: `alice_${scheme}`, scheme, suri: '//Alice', public_hex: alice[scheme] });
  }

  const seed = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
  const ed = {
    public: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    signature: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  };
  const ec = {
    public: '028db55b05db86c0b1786ca49f095d76344c9e6056b2f02701a7e7f3c20aabfd91',
    signature: '3dde91174bd9359027be59a428b8146513df80a2a3c7eda2194f64de04a69ab97b753169e94db6ffd50921a2668a48b94ca11e3d32c1ff19cfe88890aa7e8f3c00',
  };
  const edPair = utilCrypto.ed25519PairFromSeed(unhex(seed));
  must(hex(edPair.publicKey) === ed.public && hex(utilCrypto.ed25519Sign(new Uint8Array(), edPair)) === ed.signature,
    'ed25519 seed 9d61');
  const ecPair = utilCrypto.secp256k1PairFromSeed(unhex(seed));
  must(hex(ecPair.publicKey) === ec.public && hex(utilCrypto.secp256k1Sign(new Uint8Array(), ecPair)) === ec.signature,
    'ecdsa seed 9d61');
  cases.push({ type: 'sign_deterministic', name: 'ed25519_seed_9d61_empty', scheme: 'ed25519', suri: `0x${seed}`,
    public_hex: ed.public, message_hex: '', prehashed: false, signature_hex: ed.signature });
  cases.push({ type: 'sign_deterministic', name: 'ecdsa_seed_9d61_empty', scheme: 'ecdsa', suri: `0x${seed}`,
    public_hex: ec.public, message_hex: '', prehashed: false, signature_hex: ec.signature });

  writeVectorFile('spec_known_answers.json',
    'Copied from the project spec substrate-signing.md (section 3: Merlin known answer; section 6: sp_core and ' +
      `RFC 8032 known answers) and confirmed against the oracles by ${GENERATOR}`,
    cases);
}

// ---------------------------------------------------------------------------------------------
// 2. RFC 8032 section 7.1 (Ed25519): TEST 1, 2, 3, 1024 and SHA(abc).
function rfc8032() {
  const test1024Message =
    '08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12ee50f8f54e9f77b1e355f6c50544e23fb1433ddf73be84d8' +
    '79de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc' +
    '1a858efcb8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4feba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e' +
    '06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbefefd75499da96bd68a8a97b928a8bbc103b6621fcde2beca1231d206be6cd9ec7' +
    'aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed185ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2' +
    'd17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270' +
    '88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2cf65bd92dd597b07' +
    '07e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128bab27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51a' +
    'ddd3b75a2b1ae0784504df543af8969be3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7' +
    '51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c42f58c30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8' +
    'ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34dff7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08' +
    'd78ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4' +
    '88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a32ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e' +
    '6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5fb93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b5' +
    '0d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d90d11faa933a15ef1369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d' +
    'b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c0618983f8741c5ef68d3a101e8a3b8cac60c905c15fc910840b94c00a0b9d0';
  const vectors = [
    ['rfc8032_test1', '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
      'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', '',
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'],
    ['rfc8032_test2', '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
      '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c', '72',
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00'],
    ['rfc8032_test3', 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
      'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025', 'af82',
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a'],
    ['rfc8032_test1024', 'f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5',
      '278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e', test1024Message,
      '0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03'],
    ['rfc8032_test_sha_abc', '833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42',
      'ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf',
      nodeCrypto.createHash('sha512').update('abc').digest('hex'),
      'dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704'],
  ];
  must(unhex(test1024Message).length === 1023, 'TEST 1024 message length');
  const cases = [];
  for (const [name, seed, pub, msg, sig] of vectors) {
    // A transcription slip would show up here: node's OpenSSL Ed25519 and polkadot-js must both agree.
    const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seed, 'hex')]);
    const key = nodeCrypto.createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
    must(nodeCrypto.sign(null, Buffer.from(msg, 'hex'), key).toString('hex') === sig, `${name} (node:crypto)`);
    const pair = utilCrypto.ed25519PairFromSeed(unhex(seed));
    must(hex(pair.publicKey) === pub && hex(utilCrypto.ed25519Sign(unhex(msg), pair)) === sig, `${name} (polkadot-js)`);
    cases.push({ type: 'sign_deterministic', name, scheme: 'ed25519', suri: `0x${seed}`, public_hex: pub,
      message_hex: msg, prehashed: false, signature_hex: sig });
  }
  writeVectorFile('rfc8032_ed25519.json',
    'RFC 8032 section 7.1 test vectors TEST 1, TEST 2, TEST 3, TEST 1024 and TEST SHA(abc) (the message of the ' +
      `last is SHA-512("abc")); checked against node:crypto (OpenSSL) and polkadot-js by ${GENERATOR}`,
    cases);
}

// ---------------------------------------------------------------------------------------------
// 3. SURI derivations for all three schemes, plus SURIs every implementation must refuse.
function suriDerivations() {
  const rng = new common.SeededRng('make-vectors/suri');
  const phrase12 = bip39.entropyToMnemonic(rng.bytes(16));
  const phrase15 = bip39.entropyToMnemonic(rng.bytes(20));
  const phrase24 = bip39.entropyToMnemonic(rng.bytes(32));
  const seedHex = `0x${hex(rng.bytes(32))}`;
  const longJunction = 'a-junction-text-that-is-longer-than-thirty-two-bytes';
  const words = phrase12.split(' ');
  const badChecksum = [...words.slice(0, 11), words[11] === 'abandon' ? 'ability' : 'abandon'].join(' ');
  must(!utilCrypto.mnemonicValidate(badChecksum), 'bad-checksum phrase is rejected');

  const suris = [
    ['alice', '//Alice'],
    ['alice_stash', '//Alice//stash'],
    ['alice_soft', '//Alice/soft'],
    ['bob_password', '//Bob///secret password'],
    ['numeric_0', '//0'],
    ['numeric_1_2', '//1//2'],
    ['numeric_u64_max', '//18446744073709551615'],
    ['numeric_leading_zeros', '//007'],
    ['long_junction', `//${longJunction}`],
    ['phrase12', phrase12],
    ['phrase12_password', `${phrase12}///correct horse battery staple`],
    ['phrase12_path', `${phrase12}//polkadot//0`],
    ['phrase12_path_password', `${phrase12}//polkadot//0///pw`],
    ['phrase12_soft_path', `${phrase12}//hard/soft/1`],
    ['phrase15', phrase15],
    ['phrase24', phrase24],
    ['phrase24_password', `${phrase24}///Tr0ub4dor&3`],
    ['phrase24_path', `${phrase24}//kusama//babe`],
    ['seed_hex', seedHex],
    ['seed_hex_path', `${seedHex}//Alice//1`],
    ['seed_hex_soft_path', `${seedHex}//Alice/soft`],
    ['seed_hex_password_ignored', `${seedHex}//x///password`],
    ['dev_phrase_explicit', `${common.DEV_PHRASE}//Alice`],
    ['dev_phrase_soft_alice', `${common.DEV_PHRASE}/Alice`],
  ];
  // Substrate reads a SURI that starts with a single "/" as the dev phrase plus a soft path (sp_core test
  // default_phrase_should_be_used); polkadot-js does not, so these expect the explicit form's keys.
  const aliases = [['implicit_dev_soft_alice', '/Alice', `${common.DEV_PHRASE}/Alice`]];
  // sp_core sr25519 test derive_soft_known_pair_should_work: DEV_PHRASE/Alice.
  must(hex(oraclePair('sr25519', `${common.DEV_PHRASE}/Alice`).publicKey) ===
    'd6c71059dbbe9ad2b0ed3f289738b800836eb425544ce694825285b958ca755e', 'sp_core DEV_PHRASE/Alice');
  const invalid = [
    ['empty_hard_junction', '//Alice//'],
    ['empty_soft_junction', '//Alice/'],
    ['bad_checksum_phrase', badChecksum],
    ['bad_checksum_phrase_path', `${badChecksum}//Alice`],
  ];

  const cases = [];
  for (const [name, suri] of suris) {
    for (const scheme of SCHEMES) {
      const pair = oraclePair(scheme, suri);
      if (pair === null) {
        // polkadot-js refuses soft junctions for ed25519/ecdsa, as Substrate does.
        must(/\/[^/]/.test(suri.replace(/\/\/\/.*$/, '').replace(/\/\/[^/]+/g, '')) && scheme !== 'sr25519',
          `${name}/${scheme} refused unexpectedly`);
        cases.push({ type: 'derive', name: `${name}_${scheme}`, scheme, suri, error: true });
        continue;
      }
      const ss58 = {};
      for (const prefix of SS58_PREFIXES) ss58[prefix] = utilCrypto.encodeAddress(pair.publicKey, prefix);
      cases.push({ type: 'derive', name: `${name}_${scheme}`, scheme, suri, public_hex: hex(pair.publicKey), ss58 });
    }
  }
  for (const [name, suri, explicit] of aliases) {
    const sr = oraclePair('sr25519', explicit).publicKey;
    cases.push({ type: 'derive', name: `${name}_sr25519`, scheme: 'sr25519', suri, public_hex: hex(sr) });
    for (const scheme of ['ed25519', 'ecdsa']) {
      must(oraclePair(scheme, explicit) === null, `${name}/${scheme} soft path accepted`);
      cases.push({ type: 'derive', name: `${name}_${scheme}`, scheme, suri, error: true });
    }
  }
  for (const [name, suri] of invalid) {
    for (const scheme of SCHEMES) {
      must(oraclePair(scheme, suri) === null, `${name}/${scheme} accepted`);
      cases.push({ type: 'derive', name: `${name}_${scheme}`, scheme, suri, error: true });
    }
  }

  // Soft derivation from a public key alone (sr25519 only) must match the secret-side path.
  const softParents = ['//Alice', `${phrase12}//hard`, seedHex];
  const softTexts = ['soft', '1', longJunction];
  softParents.forEach((parent, i) => {
    for (const text of softTexts) {
      const parentPub = oraclePair('sr25519', parent).publicKey;
      const junction = utilCrypto.keyExtractPath(`/${text}`).path[0];
      const childPub = utilCrypto.sr25519DerivePublic(parentPub, junction.chainCode);
      must(hex(childPub) === hex(oraclePair('sr25519', `${parent}/${text}`).publicKey), 'soft public == soft secret');
      cases.push({ type: 'sr25519_soft_public', name: `soft_public_${i}_${text.slice(0, 8)}`,
        parent_public_hex: hex(parentPub), junction: text, public_hex: hex(childPub) });
    }
  });

  // Junction chain codes and BIP-39 steps, so a derivation mismatch can be localised.
  const junctions = ['Alice', 'stash', '0', '1', '2', '18446744073709551615', '007', longJunction, 'polkadot'];
  for (const text of junctions) {
    const jc = utilCrypto.keyExtractPath(`/${text}`).path[0];
    cases.push({ type: 'junction', name: `junction_${text.slice(0, 12)}`, text, chain_code_hex: hex(jc.chainCode) });
  }
  for (const [name, phrase, password] of [
    ['bip39_dev_phrase', 'bottom drive obey lake curtain smoke basket hold race lonely fit walk', ''],
    ['bip39_phrase12', phrase12, ''],
    ['bip39_phrase12_password', phrase12, 'correct horse battery staple'],
    ['bip39_phrase15', phrase15, ''],
    ['bip39_phrase24_password', phrase24, 'Tr0ub4dor&3'],
  ]) {
    cases.push({ type: 'bip39', name, phrase, password, entropy_hex: hex(utilCrypto.mnemonicToEntropy(phrase)),
      mini_secret_hex: hex(utilCrypto.mnemonicToMiniSecret(phrase, password)) });
  }
  cases.push({ type: 'bip39', name: 'bip39_bad_checksum', phrase: badChecksum, password: '', error: true });

  // SS58 strings that must not decode: a changed checksum character and a truncated address.
  const aliceAddress = utilCrypto.encodeAddress(oraclePair('sr25519', '//Alice').publicKey, 42);
  const flipped = aliceAddress.slice(0, -1) + (aliceAddress.endsWith('Y') ? 'Z' : 'Y');
  for (const [name, address] of [['ss58_bad_checksum', flipped], ['ss58_truncated', aliceAddress.slice(0, 20)]]) {
    must(!utilCrypto.checkAddress(address, 42)[0], `${name} accepted by the oracle`);
    cases.push({ type: 'ss58_invalid', name, address });
  }

  writeVectorFile('suri_derivations.json',
    `Public keys and SS58 addresses (prefixes 0, 2, 42) computed by @polkadot/keyring createFromUri; soft public ` +
      `derivation by sr25519DerivePublic; junction chain codes by DeriveJunction; BIP-39 entropy and mini-secrets by ` +
      `mnemonicToEntropy/mnemonicToMiniSecret; "/Alice" (dev phrase implied, as sp_core's default_phrase_should_be_used ` +
      `test requires) expects the keys polkadot-js gives the explicit dev-phrase form; phrases from entropyToMnemonic over a SHA-256 counter stream seeded ` +
      `"make-vectors/suri"; made by ${GENERATOR}`,
    cases);
  return { phrase12, seedHex };
}

// ---------------------------------------------------------------------------------------------
// 4. Oracle signatures: sr25519 (randomised: verify only), ed25519 and ecdsa (reproduce byte for byte).
function oracleSignatures({ phrase12, seedHex }) {
  const rng = new common.SeededRng('make-vectors/signatures');
  const keys = ['//Alice', `${phrase12}//sig`, seedHex];
  const messages = [
    ['empty', new Uint8Array()],
    ['one_byte', rng.bytes(1)],
    ['hash32', rng.bytes(32)],
    ['grandpa53', rng.bytes(53)],
    ['long300', rng.bytes(300)],
  ];
  const cases = [];
  keys.forEach((suri, k) => {
    for (const [mname, msg] of messages) {
      // ed25519 and ecdsa are deterministic: the oracle's bytes are the only right answer.
      for (const scheme of ['ed25519', 'ecdsa']) {
        const pair = oraclePair(scheme, suri);
        const sig = pair.sign(msg);
        must(pair.verify(msg, sig, pair.publicKey), `${scheme} self-verify`);
        cases.push({ type: 'sign_deterministic', name: `${scheme}_key${k}_${mname}`, scheme, suri,
          public_hex: hex(pair.publicKey), message_hex: hex(msg), prehashed: false, signature_hex: hex(sig) });
      }
      // sr25519 from schnorrkel itself (wasm) and from @scure/sr25519: we must accept both.
      const sr = oracleSecret('sr25519', suri);
      const sigWasm = wasm.sr25519Sign(sr.publicKey, sr.secretKey, msg);
      const sigScure = scure.sign(sr.secretKey, msg, rng.bytes(32));
      for (const [origin, sig] of [['schnorrkel', sigWasm], ['scure', sigScure]]) {
        must(wasm.sr25519Verify(sig, msg, sr.publicKey), `sr25519 ${origin} verifies`);
        cases.push({ type: 'verify', name: `sr25519_key${k}_${mname}_${origin}`, scheme: 'sr25519',
          public_hex: hex(sr.publicKey), message_hex: hex(msg), signature_hex: hex(sig), prehashed: false, valid: true });
      }
      // Tampered variants the verifier must refuse: flipped R, flipped s, missing marker, other message.
      const tampered = [
        ['bad_r', (s) => { s[1] ^= 0x01; }],
        ['bad_s', (s) => { s[40] ^= 0x01; }],
        ['no_marker', (s) => { s[63] &= 0x7f; }],
      ];
      for (const [tname, edit] of tampered) {
        const bad = Uint8Array.from(sigWasm);
        edit(bad);
        must(!wasm.sr25519Verify(bad, msg, sr.publicKey), `sr25519 ${tname} refused by schnorrkel`);
        cases.push({ type: 'verify', name: `sr25519_key${k}_${mname}_${tname}`, scheme: 'sr25519',
          public_hex: hex(sr.publicKey), message_hex: hex(msg), signature_hex: hex(bad), prehashed: false, valid: false });
      }
      const other = Uint8Array.from([...msg, 0x00]);
      must(!wasm.sr25519Verify(sigWasm, other, sr.publicKey), 'sr25519 other message refused');
      cases.push({ type: 'verify', name: `sr25519_key${k}_${mname}_other_message`, scheme: 'sr25519',
        public_hex: hex(sr.publicKey), message_hex: hex(other), signature_hex: hex(sigWasm), prehashed: false, valid: false });
    }
    // ecdsa over a digest given as is (BEEFY's sign_prehashed), and a non-canonical high-S twin.
    const ec = oracleSecret('ecdsa', suri);
    for (let i = 0; i < 3; i++) {
      const digest = rng.bytes(32);
      const sig = wasm.secp256k1Sign(digest, ec.secretKey);
      cases.push({ type: 'sign_deterministic', name: `ecdsa_key${k}_prehashed${i}`, scheme: 'ecdsa', suri,
        public_hex: hex(ec.publicKey), message_hex: hex(digest), prehashed: true, signature_hex: hex(sig) });
    }
    const ed = oraclePair('ed25519', suri);
    const edSig = Uint8Array.from(ed.sign(messages[2][1]));
    edSig[0] ^= 0x01;
    must(!ed.verify(messages[2][1], edSig, ed.publicKey), 'ed25519 tampered refused');
    cases.push({ type: 'verify', name: `ed25519_key${k}_bad_r`, scheme: 'ed25519', public_hex: hex(ed.publicKey),
      message_hex: hex(messages[2][1]), signature_hex: hex(edSig), prehashed: false, valid: false });
    const ecPair = oraclePair('ecdsa', suri);
    const ecSig = Uint8Array.from(ecPair.sign(messages[2][1]));
    ecSig[64] ^= 0x01;  // the other recovery id recovers a different key
    must(!ecPair.verify(messages[2][1], ecSig, ecPair.publicKey), 'ecdsa wrong recovery id refused');
    cases.push({ type: 'verify', name: `ecdsa_key${k}_wrong_recovery_id`, scheme: 'ecdsa', public_hex: hex(ecPair.publicKey),
      message_hex: hex(messages[2][1]), signature_hex: hex(ecSig), prehashed: false, valid: false });
  });
  writeVectorFile('oracle_signatures.json',
    'ed25519 and ecdsa signatures from @polkadot/keyring pair.sign (ecdsa: blake2_256 first) and ecdsa prehashed ' +
      'signatures from @polkadot/wasm-crypto secp256k1Sign (deterministic: reproduce byte for byte); sr25519 ' +
      'signatures from @polkadot/wasm-crypto sr25519Sign (schnorrkel) and @scure/sr25519 sign (randomised: verify ' +
      'only), with tampered copies the oracles refuse; messages from a SHA-256 counter stream seeded ' +
      `"make-vectors/signatures"; made by ${GENERATOR}`,
    cases);
}

// ---------------------------------------------------------------------------------------------
// 5. sr25519 VRF: schnorrkel proofs to verify, pre-outputs to reproduce, BABE transcripts.
function vrfVectors({ phrase12, seedHex }) {
  const rng = new common.SeededRng('make-vectors/vrf');
  const ivrf = new common.IndependentVrf(oracles);
  const wire = common.transcriptToWire;
  const cases = [];
  const keys = ['//Alice', `${phrase12}//babe`, seedHex, '//Alice/soft'];
  keys.forEach((suri, k) => {
    const sr = oracleSecret('sr25519', suri);
    // Signing-context transcripts: schnorrkel (wasm vrfSign) makes the proof.
    for (let i = 0; i < 3; i++) {
      const ctx = i === 0 ? new Uint8Array() : rng.bytes(4 + i);
      const msg = rng.bytes(i * 40);
      const extra = i === 2 ? rng.bytes(9) : new Uint8Array();
      const sig = wasm.vrfSign(sr.secretKey, ctx, msg, extra);
      const input = common.signingContextTranscript(ctx, msg);
      const extraT = common.extraTranscript(extra);
      must(ivrf.verify(sr.publicKey, input, extraT, sig), 'independent VRF accepts schnorrkel proof');
      must(hex(ivrf.preOutput(input, sr.secretKey)) === hex(sig.subarray(0, 32)), 'independent pre-output');
      cases.push({ type: 'vrf_verify', name: `vrf_ctx_key${k}_${i}`, public_hex: hex(sr.publicKey),
        input: wire(input), extra: wire(extraT), signature_hex: hex(sig), valid: true });
      cases.push({ type: 'vrf_pre_output', name: `vrf_ctx_key${k}_${i}_pre_output`, suri, input: wire(input),
        pre_output_hex: hex(sig.subarray(0, 32)) });
      const bad = Uint8Array.from(sig);
      bad[[0, 33, 70][i]] ^= 0x01;
      must(!wasm.vrfVerify(sr.publicKey, ctx, msg, extra, bad), 'schnorrkel refuses tampered VRF');
      cases.push({ type: 'vrf_verify', name: `vrf_ctx_key${k}_${i}_tampered`, public_hex: hex(sr.publicKey),
        input: wire(input), extra: wire(extraT), signature_hex: hex(bad), valid: false });
    }
    // BABE slot-claim transcripts: pre-output and the 16-byte score, from the independent VRF.
    for (let i = 0; i < 2; i++) {
      const slot = BigInt('0x' + hex(rng.bytes(5)));
      const input = common.babeTranscript(slot, BigInt(rng.int(5000)), rng.bytes(32));
      const pre = ivrf.preOutput(input, sr.secretKey);
      const ctx = utf8('substrate-babe-vrf');
      cases.push({ type: 'vrf_pre_output', name: `vrf_babe_key${k}_${i}`, suri, input: wire(input),
        pre_output_hex: hex(pre), make_bytes: { context_hex: hex(ctx), length: 16,
          output_hex: hex(ivrf.makeBytes(input, sr.publicKey, pre, ctx, 16)) } });
    }
  });
  writeVectorFile('sr25519_vrf.json',
    'sr25519 VRF (Kusama-mode DLEQ) vectors: signing-context proofs and pre-outputs from @polkadot/wasm-crypto ' +
      'vrfSign (schnorrkel), tampered copies schnorrkel refuses, and BABE slot-claim pre-outputs and ' +
      'make_bytes("substrate-babe-vrf", 16) from tests/oracle/oracle_common.js IndependentVrf (Merlin from ' +
      '@scure/sr25519, ristretto255 from its @noble/curves), which is checked against schnorrkel on every ' +
      `signing-context case; inputs from a SHA-256 counter stream seeded "make-vectors/vrf"; made by ${GENERATOR}`,
    cases);
}

// ---------------------------------------------------------------------------------------------
// 6. Merlin transcripts beyond the single known answer: empty parts, >166-byte messages (several
// Keccak permutations), binary labels and chained challenges.
function merlinVectors() {
  const rng = new common.SeededRng('make-vectors/merlin');
  const cases = [
    merlinCase('empty_message', utf8('proto'), [
      { append: utf8('empty'), message: new Uint8Array() },
      { challenge: utf8('c'), length: 32 },
    ]),
    merlinCase('long_message_1000', utf8('long'), [
      { append: utf8('data'), message: rng.bytes(1000) },
      { challenge: utf8('c'), length: 64 },
    ]),
    merlinCase('chained_challenges', utf8('chain'), [
      { append: utf8('a'), message: rng.bytes(10) },
      { challenge: utf8('first'), length: 16 },
      { append: utf8('b'), message: rng.bytes(200) },
      { challenge: utf8('second'), length: 300 },
      { challenge: utf8(''), length: 1 },
    ]),
    merlinCase('binary_labels', rng.bytes(7), [
      { append: rng.bytes(5), message: rng.bytes(166) },
      { append: new Uint8Array(), message: rng.bytes(167) },
      { challenge: rng.bytes(3), length: 32 },
    ]),
  ];
  writeVectorFile('merlin_transcripts.json',
    `Merlin v1.0 transcripts computed with @scure/sr25519 __tests.Merlin; inputs from a SHA-256 counter stream ` +
      `seeded "make-vectors/merlin"; made by ${GENERATOR}`,
    cases);
}

async function main() {
  oracles = await common.loadOracles();
  ({ utilCrypto, util, Keyring, wasm, scure, bip39 } = oracles);
  await utilCrypto.cryptoWaitReady();
  fs.mkdirSync(OUT_DIR, { recursive: true });
  specKnownAnswers();
  rfc8032();
  const shared = suriDerivations();
  oracleSignatures(shared);
  vrfVectors(shared);
  merlinVectors();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
