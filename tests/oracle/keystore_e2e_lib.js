// The RemoteKeystore end-to-end checks shared by the grpc-js tests: results, the client, the processes under
// test (signerd, signer-gateway), SCALE payloads built by @polkadot/types, and one suite per group of methods.
'use strict';

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');
const common = require('./oracle_common.js');

const { hex, unhex, utf8 } = common;

if (!fs.existsSync(path.join(__dirname, 'node_modules', '@grpc', 'grpc-js'))) {
  console.error('@grpc/grpc-js is missing: run npm ci in tests/oracle');
  process.exit(2);
}
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const { TypeRegistry } = require('@polkadot/types');


// //Alice's public keys: the spec's known answers (shared/spec/substrate-signing.md section 6).
const ALICE = {
  sr25519: unhex('d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d'),
  ed25519: unhex('88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee'),
  ecdsa: unhex('020a1091341fe5664bfa1782d5e04779689068c916b04cb365ec3153755684d9a1'),
};
const CODE = grpc.status;
const PAIR_NOT_FOUND = 'REMOTE_KEYSTORE_ERROR_PAIR_NOT_FOUND';
const CALL_DEADLINE_MS = 15000;

// ---------------------------------------------------------------------------------------------
// Results: every check is named; a failure is recorded and the run goes on, so one report shows all.

const failures = [];
let passed = 0;
function check(name, condition, detail) {
  if (condition) {
    passed++;
  } else {
    failures.push(name);
    console.error(`FAIL ${name}${detail ? `: ${detail}` : ''}`);
  }
}
const same = (a, b) => a !== undefined && b !== undefined && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
const describe = (result) =>
  result.err ? `status ${result.err.code} ${result.err.details}` : `OK ${JSON.stringify(result.reply)}`;
function checkCode(name, result, code) {
  const got = result.err ? result.err.code : CODE.OK;
  check(name, got === code, `expected status ${code}, got ${describe(result)}`);
}
function checkOk(name, result) {
  checkCode(name, result, CODE.OK);
  return !result.err;
}

// ---------------------------------------------------------------------------------------------
// The processes under test: started here, always stopped here (whatever ends this process).

function devInit(signerctl, dir) {
  const run = spawnSync(signerctl, ['dev', 'init', '--dir', dir, '--port', '0'], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`signerctl dev init failed (${run.status}): ${run.stderr}`);
  const described = JSON.parse(run.stdout);
  if (!described.created) throw new Error('signerctl dev init did not create a fresh setup');
  return described;
}

const running = new Set();
// spawnUntil starts `binary` with `argv` (stderr appended to `logPath`) and resolves to what `ready` returns for
// the first stdout line it accepts (a non-null value); rejects if the process exits first or after `seconds`.
function spawnUntil(name, binary, argv, env, logPath, seconds, ready) {
  const log = fs.openSync(logPath, 'a');
  const child = spawn(binary, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', log] });
  fs.closeSync(log);
  running.add(child);
  child.on('exit', () => running.delete(child));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${seconds} s`)), seconds * 1000);
    const lines = readline.createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const value = ready(line);
      if (value !== null) {
        clearTimeout(timer);
        resolve({ child, ...value });
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited before listening (code ${code}, signal ${signal})`));
    });
  });
}

// startSignerd resolves to { child, port } once signerd prints its listening line.
function startSignerd(signerd, configPath, softhsmConf, logPath) {
  return spawnUntil('signerd', signerd, ['--config', configPath], { SOFTHSM2_CONF: softhsmConf }, logPath, 30, (line) => {
    const match = /^signerd listening on 127\.0\.0\.1:(\d+)$/.exec(line);
    return match ? { port: Number(match[1]) } : null;
  });
}

// startGateway resolves to { child, socket, config } once signer-gateway listens on its Unix socket in `dir`, in
// front of `upstreams` ([{ name, port }]), authenticating to them as validator-alice of `pki`. `extra` are more
// lines of its configuration (e.g. a pinned history_id).
function startGateway(gateway, dir, upstreams, pki, logPath, extra = []) {
  fs.mkdirSync(dir, { recursive: true });
  const socket = path.join(dir, 'keystore.sock');
  const config = path.join(dir, 'gateway.yaml');
  fs.writeFileSync(
    config,
    [
      `listen: {unix_socket: ${socket}}`,
      `upstream_tls: {ca: ${path.join(pki, 'ca.crt')}, cert: ${path.join(pki, 'validator-alice.crt')}, ` +
        `key: ${path.join(pki, 'validator-alice.key')}}`,
      'upstreams:',
      ...upstreams.map(({ name, port }) => `  - {name: ${name}, address: "127.0.0.1:${port}", server_name: localhost}`),
      'health_interval_ms: 100',
      ...(extra.some((line) => line.startsWith('history_id:')) ? [] : [`state_dir: ${path.join(dir, 'state')}`]),
      ...extra,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return spawnUntil('signer-gateway', gateway, ['--config', config], {}, logPath, 30, (line) =>
    line === `signer-gateway listening on unix:${socket}` ? { socket, config } : null,
  );
}

// stopProcess resolves to true if the process, asked with SIGTERM, exits cleanly (status 0): a crash or a
// sanitizer report on the way out counts as a failure.
function stopProcess(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode === 0);
  return new Promise((resolve) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), 10000);
    child.once('exit', (code) => {
      clearTimeout(killer);
      resolve(code === 0);
    });
    child.kill('SIGTERM');
  });
}
// stopAll stops every process still running (a failed setup must not leave one holding the event loop open).
function stopAll() {
  return Promise.all([...running].map(stopProcess));
}
// Whatever ends this process, nothing it started outlives it, and its work directory goes (cleanup hooks first).
let workDir = null;
const exitHooks = [];
function setWorkDir(dir) {
  workDir = dir;
}
function onExit(hook) {
  exitHooks.push(hook);
}
process.on('exit', () => {
  for (const hook of exitHooks) hook();
  for (const child of running) child.kill('SIGKILL');
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]]) process.on(signal, () => process.exit(code));

// ---------------------------------------------------------------------------------------------
// The gRPC client, loaded from our .proto exactly as a third-party client would.

function loadService(proto) {
  const definition = protoLoader.loadSync(proto, {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  return grpc.loadPackageDefinition(definition).parity.polkadot.signer.RemoteKeystore;
}

function makeClient(Service, port, pki, identity) {
  const ca = fs.readFileSync(path.join(pki, 'ca.crt'));
  const credentials = identity
    ? grpc.credentials.createSsl(
        ca,
        fs.readFileSync(path.join(pki, `${identity}.key`)),
        fs.readFileSync(path.join(pki, `${identity}.crt`)),
      )
    : grpc.credentials.createSsl(ca);
  // The dev server certificate names localhost (and the IP); naming the host avoids Node's SNI-with-an-IP warning.
  return new Service(`127.0.0.1:${port}`, credentials, { 'grpc.ssl_target_name_override': 'localhost' });
}

// call resolves to { err, reply } and never rejects, so a refused call is data to check.
function call(client, method, request) {
  return new Promise((resolve) => {
    client[method](request, { deadline: Date.now() + CALL_DEADLINE_MS }, (err, reply) => resolve({ err, reply }));
  });
}

// ---------------------------------------------------------------------------------------------
// Payloads, SCALE-encoded by @polkadot/types (spec section 4).

const registry = new TypeRegistry();
registry.register({
  // finality-grandpa Message: Prevote=0, Precommit=1, PrimaryPropose=2; block numbers u32.
  GrandpaTarget: { targetHash: 'H256', targetNumber: 'u32' },
  GrandpaMessage: { _enum: { Prevote: 'GrandpaTarget', Precommit: 'GrandpaTarget', PrimaryPropose: 'GrandpaTarget' } },
  // polkadot CompactStatement: Seconded = 1, Valid = 2 (index 0 unused).
  E2eCompactStatement: { _enum: { Unused: 'Null', Seconded: 'H256', Valid: 'H256' } },
});
const fill = (byte) => new Uint8Array(32).fill(byte);
const concat = (...parts) => Uint8Array.from(Buffer.concat(parts.map((p) => Buffer.from(p))));
const magic = (text) => registry.createType('[u8; 4]', utf8(text));
const tuple = (types, values) => registry.createType(`(${types.join(', ')})`, values).toU8a();

function grandpaVote(stage, hashByte, number, round, setId) {
  return concat(
    registry.createType('GrandpaMessage', { [stage]: { targetHash: fill(hashByte), targetNumber: number } }).toU8a(),
    registry.createType('u64', round).toU8a(),
    registry.createType('u64', setId).toU8a(),
  );
}
function babeHeader(slot, number, stateRootByte) {
  const preDigest = registry.createType('RawBabePreDigest', { SecondaryPlain: { authorityIndex: 0, slotNumber: slot } });
  return registry
    .createType('Header', {
      parentHash: fill(0x01),
      number,
      stateRoot: fill(stateRootByte),
      extrinsicsRoot: fill(0x03),
      digest: { logs: [{ PreRuntime: [utf8('BABE'), preDigest.toHex()] }] },
    })
    .toU8a();
}
function beefyCommitment(rootByte, blockNumber, validatorSetId) {
  return registry
    .createType('BeefyCommitment', { payload: [[utf8('mh'), hex(fill(rootByte))]], blockNumber, validatorSetId })
    .toU8a();
}
function signingContext(session, parentByte) {
  return registry.createType('SigningContext', { sessionIndex: session, parentHash: fill(parentByte) }).toU8a();
}
const backing = (kind, candidateByte, session) =>
  concat(
    magic('BKNG').toU8a(),
    registry.createType('E2eCompactStatement', { [kind]: fill(candidateByte) }).toU8a(),
    signingContext(session, 0x77),
  );
const dispute = (valid, candidateByte, session) =>
  tuple(['[u8; 4]', 'bool', 'H256', 'u32'], [magic('DISP'), valid, fill(candidateByte), session]);
const approval = (candidateByte, session) =>
  tuple(['[u8; 4]', 'H256', 'u32'], [magic('APPR'), fill(candidateByte), session]);

// A VRF transcript in the API's form: label plus labelled items.
const wireTranscript = (t) => ({
  label: Buffer.from(t.label).toString('latin1'),
  items: t.items.map(([label, value]) => ({ label: Buffer.from(label), value: Buffer.from(value) })),
});

async function listingRpcs(alice) {
  let r = await call(alice, 'Sr25519PublicKeys', { key_type: 'babe' });
  if (checkOk('Sr25519PublicKeys babe', r)) {
    check('Sr25519PublicKeys lists //Alice', r.reply.public_keys.length === 1 && same(r.reply.public_keys[0], ALICE.sr25519));
  }
  r = await call(alice, 'Ed25519PublicKeys', { key_type: 'gran' });
  if (checkOk('Ed25519PublicKeys gran', r)) {
    check('Ed25519PublicKeys lists //Alice', r.reply.public_keys.length === 1 && same(r.reply.public_keys[0], ALICE.ed25519));
  }
  r = await call(alice, 'EcdsaPublicKeys', { key_type: 'beef' });
  if (checkOk('EcdsaPublicKeys beef', r)) {
    check('EcdsaPublicKeys lists //Alice', r.reply.public_keys.length === 1 && same(r.reply.public_keys[0], ALICE.ecdsa));
  }
  for (const keyType of ['para', 'asgn', 'audi']) {
    r = await call(alice, 'Keys', { key_type: keyType });
    if (checkOk(`Keys ${keyType}`, r)) {
      check(`Keys ${keyType} lists //Alice`, r.reply.public_keys.length === 1 && same(r.reply.public_keys[0], ALICE.sr25519));
    }
  }
  r = await call(alice, 'HasKeys', {
    keys: [
      { public_key: ALICE.sr25519, key_type: 'babe' },
      { public_key: ALICE.ed25519, key_type: 'gran' },
      { public_key: ALICE.ecdsa, key_type: 'beef' },
    ],
  });
  if (checkOk('HasKeys held keys', r)) check('HasKeys held keys is true', r.reply.all_present === true);
  r = await call(alice, 'HasKeys', { keys: [{ public_key: fill(0x07), key_type: 'babe' }] });
  if (checkOk('HasKeys a key not held', r)) check('HasKeys a key not held is false', r.reply.all_present === false);
}

async function generateAndInsert(alice, bob, charlie, utilCrypto) {
  let r = await call(alice, 'Sr25519GenerateNew', { key_type: 'acco', seed: '' });
  if (checkOk('Sr25519GenerateNew acco', r)) check('Sr25519GenerateNew gives 32 bytes', r.reply.public_key.length === 32);
  r = await call(alice, 'Ed25519GenerateNew', { key_type: 'acco', seed: '' });
  if (checkOk('Ed25519GenerateNew acco', r)) check('Ed25519GenerateNew gives 32 bytes', r.reply.public_key.length === 32);
  r = await call(alice, 'EcdsaGenerateNew', { key_type: 'acco', seed: '' });
  if (checkOk('EcdsaGenerateNew acco', r)) {
    check('EcdsaGenerateNew gives a compressed key', r.reply.public_key.length === 33 && [2, 3].includes(r.reply.public_key[0]));
  }
  // With a seed the key the SURI names is stored: its public key is the oracle's.
  r = await call(alice, 'Sr25519GenerateNew', { key_type: 'acco', seed: '//Charlie' });
  if (checkOk('Sr25519GenerateNew acco with seed', r)) {
    check('Sr25519GenerateNew with seed gives //Charlie', same(r.reply.public_key, charlie.publicKey));
  }
  r = await call(alice, 'Insert', { key_type: 'acco', suri: '//Bob', public_key: bob.publicKey });
  if (checkOk('Insert //Bob', r)) check('Insert reply has no error', r.reply.error === 'REMOTE_KEYSTORE_ERROR_UNKNOWN');
  r = await call(alice, 'Keys', { key_type: 'acco' });
  if (checkOk('Keys acco after Insert', r)) {
    check('Keys acco lists exactly the granted //Bob', r.reply.public_keys.length === 1 && same(r.reply.public_keys[0], bob.publicKey));
  }
  // The stored key signs as //Bob: proves Insert stored the key the SURI names, not just its public key.
  const message = utf8('an account message');
  r = await call(alice, 'SignWith', {
    key_type: 'acco', crypto_type: 'sr25519', public_key: bob.publicKey, message,
  });
  if (checkOk('SignWith the inserted key', r)) {
    check('inserted key signs as //Bob', utilCrypto.sr25519Verify(message, r.reply.signature.signature, bob.publicKey));
  }
  r = await call(alice, 'Insert', { key_type: 'acco', suri: '//Bob', public_key: charlie.publicKey });
  checkCode('Insert with a public key the SURI does not give is INVALID_ARGUMENT', r, CODE.INVALID_ARGUMENT);
  r = await call(alice, 'Sr25519GenerateNew', { key_type: 'babe', seed: '' });
  checkCode('Sr25519GenerateNew without a generate grant is PERMISSION_DENIED', r, CODE.PERMISSION_DENIED);
}

async function vrfRpcs(alice, vrf, aliceSecret) {
  const input = common.babeTranscript(4242, 7, fill(0x33));
  const extra = { label: utf8('VRF'), items: [[utf8('extra'), utf8('bytes')]] };
  for (const [name, extraTranscript] of [['default extra', null], ['extra transcript', extra]]) {
    const request = { key_type: 'babe', public_key: ALICE.sr25519, transcript_data: wireTranscript(input) };
    if (extraTranscript) request.extra_transcript = wireTranscript(extraTranscript);
    const r = await call(alice, 'Sr25519VrfSign', request);
    if (checkOk(`Sr25519VrfSign ${name}`, r)) {
      const s = r.reply.signature;
      const wire = concat(s.output, s.challenge, s.proof);
      check(`Sr25519VrfSign ${name} proof verifies`, vrf.verify(ALICE.sr25519, input, extraTranscript, wire));
      check(`Sr25519VrfSign ${name} pre-output is //Alice's`, same(s.output, vrf.preOutput(input, aliceSecret.secretKey)));
    }
  }
  const assignment = { label: utf8('A&V MOD'), items: [[utf8('RC-VRF'), fill(0x21)], [utf8('sample'), utf8('\x01\x00\x00\x00')]] };
  const r = await call(alice, 'Sr25519VrfPreOutput', {
    key_type: 'asgn', public_key: ALICE.sr25519, transcript_data: wireTranscript(assignment),
  });
  if (checkOk('Sr25519VrfPreOutput asgn', r)) {
    check('Sr25519VrfPreOutput matches the independent VRF', same(r.reply.pre_output, vrf.preOutput(assignment, aliceSecret.secretKey)));
  }
}

function signWith(client, keyType, cryptoType, publicKey, message, extra = {}) {
  return call(client, 'SignWith', { key_type: keyType, crypto_type: cryptoType, public_key: publicKey, message, ...extra });
}
function checkRefused(name, result, fragment) {
  checkCode(name, result, CODE.FAILED_PRECONDITION);
  if (result.err && fragment) check(`${name} names ${fragment}`, result.err.details.includes(fragment), result.err.details);
}

async function grandpa(alice, utilCrypto) {
  const gran = (message) => signWith(alice, 'gran', 'ed25519', ALICE.ed25519, message);
  for (const stage of ['Prevote', 'Precommit']) {
    const vote = grandpaVote(stage, 0x9a, 123456, 77, 5);
    let r = await gran(vote);
    if (checkOk(`GRANDPA ${stage}`, r)) {
      check(`GRANDPA ${stage} signature verifies`, utilCrypto.ed25519Verify(vote, r.reply.signature.signature, ALICE.ed25519));
    }
    r = await gran(vote);
    checkOk(`GRANDPA ${stage} identical re-sign`, r);
    r = await gran(grandpaVote(stage, 0x9b, 123457, 77, 5));
    checkRefused(`GRANDPA ${stage} equivocation`, r, 'round=77');
  }
  // PrimaryPropose is not slashable: two different proposals in one round are both signed.
  for (const hashByte of [0x10, 0x11]) {
    const propose = grandpaVote('PrimaryPropose', hashByte, 100 + hashByte, 78, 5);
    const r = await gran(propose);
    if (checkOk(`GRANDPA PrimaryPropose ${hashByte}`, r)) {
      check('GRANDPA PrimaryPropose signature verifies', utilCrypto.ed25519Verify(propose, r.reply.signature.signature, ALICE.ed25519));
    }
  }
}

async function babe(alice, utilCrypto) {
  const header = babeHeader(9001, 500, 0x02);
  const hash = utilCrypto.blake2AsU8a(header, 256);
  const seal = (message, preimage) =>
    signWith(alice, 'babe', 'sr25519', ALICE.sr25519, message, preimage ? { preimage } : {});
  checkRefused('BABE seal without its header', await seal(hash, null));
  let r = await seal(hash, header);
  if (checkOk('BABE seal with its header', r)) {
    check('BABE seal signature verifies', utilCrypto.sr25519Verify(hash, r.reply.signature.signature, ALICE.sr25519));
  }
  checkOk('BABE seal identical re-sign', await seal(hash, header));
  const other = babeHeader(9001, 500, 0x09);
  r = await seal(utilCrypto.blake2AsU8a(other, 256), other);
  checkRefused('BABE second block in the slot', r, 'slot=9001');
  const mismatch = babeHeader(9002, 501, 0x02);
  r = await seal(hash, mismatch);
  check('BABE seal with another header is refused', r.err && r.err.code !== CODE.OK, describe(r));
}

async function beefy(alice, utilCrypto) {
  const commitment = beefyCommitment(0x5e, 4000, 9);
  const digest = utilCrypto.keccakAsU8a(commitment, 256);
  let r = await call(alice, 'EcdsaSignPrehashed', { key_type: 'beef', public_key: ALICE.ecdsa, message: digest, preimage: commitment });
  if (checkOk('BEEFY EcdsaSignPrehashed', r)) {
    const signature = r.reply.signature.signature;
    check('BEEFY signature is 65 bytes', signature.length === 65);
    check('BEEFY signature recovers //Alice', same(utilCrypto.secp256k1Recover(digest, signature, signature[64]), ALICE.ecdsa));
  }
  // The same vote through SignWith with prehashed set is an identical re-sign.
  r = await signWith(alice, 'beef', 'ecdsa', ALICE.ecdsa, digest, { preimage: commitment, prehashed: true });
  if (checkOk('BEEFY SignWith prehashed re-sign', r)) {
    const signature = r.reply.signature.signature;
    check('BEEFY SignWith signature recovers //Alice', same(utilCrypto.secp256k1Recover(digest, signature, signature[64]), ALICE.ecdsa));
  }
  const other = beefyCommitment(0x5f, 4000, 9);
  r = await call(alice, 'EcdsaSignPrehashed', {
    key_type: 'beef', public_key: ALICE.ecdsa, message: utilCrypto.keccakAsU8a(other, 256), preimage: other,
  });
  checkRefused('BEEFY conflicting commitment', r, 'block=4000');
}

async function parachain(alice, utilCrypto) {
  const para = (message) => signWith(alice, 'para', 'sr25519', ALICE.sr25519, message);
  const signed = async (name, message) => {
    const r = await para(message);
    if (checkOk(name, r)) check(`${name} signature verifies`, utilCrypto.sr25519Verify(message, r.reply.signature.signature, ALICE.sr25519));
  };
  await signed('backing Seconded', backing('Seconded', 0xc1, 31));
  await signed('backing Valid', backing('Valid', 0xc2, 31));
  await signed('approval vote', approval(0xa1, 31));
  await signed('dispute valid', dispute(true, 0xd1, 31));
  // Invalid after any valid statement for the same candidate is the slashable double vote.
  checkRefused('dispute invalid after dispute valid', await para(dispute(false, 0xd1, 31)), 'refused_dispute_conflict');
  checkRefused('dispute invalid after backing', await para(dispute(false, 0xc2, 31)), 'refused_dispute_conflict');
  checkRefused('dispute invalid after approval', await para(dispute(false, 0xa1, 31)), 'refused_dispute_conflict');
  await signed('dispute invalid for another candidate', dispute(false, 0xd9, 31));
  checkRefused('approval after dispute invalid', await para(approval(0xd9, 31)), 'refused_dispute_conflict');
}

async function signWithAnyAndAll(alice, utilCrypto) {
  const vote = grandpaVote('Prevote', 0x31, 11000, 600, 8);
  let r = await call(alice, 'SignWithAny', {
    key_type: 'gran', crypto_type: 'ed25', public_keys: [fill(0x07), ALICE.ed25519], message: vote,
  });
  if (checkOk('SignWithAny skips a key not held', r)) {
    check('SignWithAny signs with //Alice', same(r.reply.signature.public_key, ALICE.ed25519) &&
      utilCrypto.ed25519Verify(vote, r.reply.signature.signature, ALICE.ed25519));
  }
  r = await call(alice, 'SignWithAny', { key_type: 'gran', crypto_type: 'ed25519', public_keys: [fill(0x07)], message: vote });
  if (checkOk('SignWithAny with no key held', r)) {
    check('SignWithAny with no key held is PAIR_NOT_FOUND', r.reply.signature.error === PAIR_NOT_FOUND && r.reply.signature.signature.length === 0);
  }
  const statement = backing('Seconded', 0xe1, 32);
  r = await call(alice, 'SignWithAll', {
    key_type: 'para', crypto_type: 'sr25519', public_keys: [ALICE.sr25519, fill(0x08)], message: statement,
  });
  if (checkOk('SignWithAll', r)) {
    const [first, second] = r.reply.signatures;
    check('SignWithAll answers every key', r.reply.signatures.length === 2);
    check('SignWithAll signs with //Alice', first && utilCrypto.sr25519Verify(statement, first.signature, ALICE.sr25519));
    check('SignWithAll marks the key not held PAIR_NOT_FOUND', second && second.error === PAIR_NOT_FOUND && second.signature.length === 0);
  }
  r = await signWith(alice, 'gran', 'ed25519', fill(0x07), grandpaVote('Prevote', 0x32, 11001, 601, 8));
  if (checkOk('SignWith a key not held', r)) check('SignWith a key not held is PAIR_NOT_FOUND', r.reply.signature.error === PAIR_NOT_FOUND);
}

async function malformed(alice) {
  const vote = grandpaVote('Prevote', 0x41, 12000, 700, 8);
  checkCode('unknown crypto type is INVALID_ARGUMENT', await signWith(alice, 'gran', 'rsa', ALICE.ed25519, vote), CODE.INVALID_ARGUMENT);
  checkCode('31-byte public key is INVALID_ARGUMENT', await signWith(alice, 'gran', 'ed25519', ALICE.ed25519.subarray(1), vote), CODE.INVALID_ARGUMENT);
  checkCode('3-character key type is INVALID_ARGUMENT', await call(alice, 'Keys', { key_type: 'gra' }), CODE.INVALID_ARGUMENT);
  checkCode('prehashed for ed25519 is INVALID_ARGUMENT',
    await signWith(alice, 'gran', 'ed25519', ALICE.ed25519, vote, { prehashed: true }), CODE.INVALID_ARGUMENT);
  checkCode('31-byte prehash is INVALID_ARGUMENT',
    await call(alice, 'EcdsaSignPrehashed', { key_type: 'beef', public_key: ALICE.ecdsa, message: fill(1).subarray(1) }),
    CODE.INVALID_ARGUMENT);
  // The seed's unlabelled transcript values cannot be a Merlin transcript: refused.
  checkCode('VRF transcript with unlabelled values is INVALID_ARGUMENT',
    await call(alice, 'Sr25519VrfSign', {
      key_type: 'babe', public_key: ALICE.sr25519, transcript_data: { label: 'BABE', values: [{ bytes_value: fill(1) }] },
    }),
    CODE.INVALID_ARGUMENT);
}

async function denied(alice, intruder) {
  const vote = grandpaVote('Prevote', 0x51, 13000, 800, 8);
  checkCode('intruder SignWith is PERMISSION_DENIED', await signWith(intruder, 'gran', 'ed25519', ALICE.ed25519, vote), CODE.PERMISSION_DENIED);
  checkCode('intruder Keys is PERMISSION_DENIED', await call(intruder, 'Keys', { key_type: 'babe' }), CODE.PERMISSION_DENIED);
  checkCode('intruder Sr25519VrfSign is PERMISSION_DENIED',
    await call(intruder, 'Sr25519VrfSign', { key_type: 'babe', public_key: ALICE.sr25519, transcript_data: wireTranscript(common.babeTranscript(1, 1, fill(1))) }),
    CODE.PERMISSION_DENIED);
  checkCode('intruder Insert is PERMISSION_DENIED',
    await call(intruder, 'Insert', { key_type: 'acco', suri: '//Alice', public_key: ALICE.sr25519 }), CODE.PERMISSION_DENIED);
  checkCode('intruder Ed25519GenerateNew is PERMISSION_DENIED', await call(intruder, 'Ed25519GenerateNew', { key_type: 'acco', seed: '' }), CODE.PERMISSION_DENIED);
  // validator-alice has no vrf grant on gran and no grant at all on imon.
  checkCode('VRF on a key type without a vrf grant is PERMISSION_DENIED',
    await call(alice, 'Sr25519VrfSign', { key_type: 'gran', public_key: ALICE.sr25519, transcript_data: wireTranscript(common.babeTranscript(1, 1, fill(1))) }),
    CODE.PERMISSION_DENIED);
  checkCode('HasKeys on an ungranted key type is PERMISSION_DENIED',
    await call(alice, 'HasKeys', { keys: [{ public_key: ALICE.sr25519, key_type: 'imon' }] }), CODE.PERMISSION_DENIED);
}

async function mtls(Service, port, pki) {
  const anonymous = makeClient(Service, port, pki, null);
  const r = await call(anonymous, 'Keys', { key_type: 'babe' });
  anonymous.close();
  check('a client without a certificate fails the handshake', r.err && r.err.code === CODE.UNAVAILABLE && !r.reply, describe(r));
}

// overload restarts the signer on the same setup with room for one request in flight and sends a burst of

// summary prints the tally and returns the exit status: 0 every check passed, 1 one failed.
function summary(name) {
  console.log(`${name}: ${passed} checks passed, ${failures.length} failed`);
  return failures.length ? 1 : 0;
}

module.exports = {
  ALICE, CODE, PAIR_NOT_FOUND,
  check, checkCode, checkOk, checkRefused, same, describe, summary,
  devInit, startSignerd, startGateway, stopProcess, stopAll, setWorkDir, onExit,
  loadService, makeClient, call, signWith,
  registry, fill, concat, grandpaVote, babeHeader, beefyCommitment, backing, dispute, approval, wireTranscript,
  listingRpcs, generateAndInsert, vrfRpcs, grandpa, babe, beefy, parachain, signWithAnyAndAll, malformed, denied, mtls,
};
