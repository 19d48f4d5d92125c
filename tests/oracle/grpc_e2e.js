// End-to-end test with the npm @grpc/grpc-js client: a real signerd from `signerctl dev init`, every RPC, the status
// mapping, every protection domain (signatures verified by @polkadot/util-crypto) and mTLS.
// Usage: node grpc_e2e.js --signerd PATH --signerctl PATH [--proto PATH] [--gateway PATH]
// With --gateway, the client is the node beside a signer-gateway: it calls the gateway's Unix socket and the
// gateway forwards to signerd with its own certificate (validator-alice's); the policy and mTLS checks, which are
// about signerd's own listener, then run only without it.
// Exit status: 0 every check passed, 1 a check failed (each failure is printed), 2 a setup problem.
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const common = require('./oracle_common.js');

const { hex } = common;

function parseArgs(argv) {
  const args = {
    signerd: null,
    signerctl: null,
    proto: path.join(__dirname, '..', '..', 'signer', 'proto', 'remote_keystore.proto'),
    gateway: null,
  };
  for (let i = 2; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, '');
    if (!(name in args) || argv[i + 1] === undefined) {
      console.error(`unknown argument ${argv[i]}`);
      process.exit(2);
    }
    args[name] = argv[i + 1];
  }
  for (const name of ['signerd', 'signerctl', 'proto', ...(args.gateway === null ? [] : ['gateway'])]) {
    if (!args[name] || !fs.existsSync(args[name])) {
      console.error('usage: node grpc_e2e.js --signerd PATH --signerctl PATH [--proto PATH] [--gateway PATH]');
      process.exit(2);
    }
  }
  return args;
}

const args = parseArgs(process.argv);
const lib = require('./keystore_e2e_lib.js');
const grpc = require('@grpc/grpc-js');

const { ALICE, CODE, check, checkOk, same, describe, makeClient, signWith, grandpaVote, stopProcess } = lib;
// ---------------------------------------------------------------------------------------------

async function main() {
  const oracles = await common.loadOracles();
  const { utilCrypto } = oracles;
  await utilCrypto.cryptoWaitReady();
  const vrf = new common.IndependentVrf(oracles);
  const aliceSecret = common.oracleSecret(oracles, 'sr25519', '//Alice');
  const bob = common.oraclePair(oracles, 'sr25519', '//Bob');
  const charlie = common.oraclePair(oracles, 'sr25519', '//Charlie');
  check('oracle agrees with the spec on //Alice', same(aliceSecret.publicKey, ALICE.sr25519));

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'grpcjs-e2e-'));
  lib.setWorkDir(work);
  let signerd = null;
  try {
    const dev = lib.devInit(args.signerctl, path.join(work, 'dev'));
    // The dev policy grants no generate or insert; one added grant on `acco` (which no dev key uses) lets those RPCs
    // succeed, and lists //Bob so the key Insert stores can then be used.
    const policy = fs
      .readFileSync(dev.policy, 'utf8')
      .replace(
        '  intruder: []',
        `    - {key_types: [acco], operations: [generate, insert, list, sign], public_keys: ["${hex(bob.publicKey)}"]}\n` +
          '  intruder: []',
      );
    fs.writeFileSync(dev.policy, policy);
    const logPath = path.join(work, 'signerd.log');
    const started = await lib.startSignerd(args.signerd, dev.config, dev.softhsm2_conf, logPath);
    signerd = started.child;
    const Service = lib.loadService(args.proto);
    const pki = dev.pki.directory;
    let gateway = null;
    let alice = null;
    if (args.gateway) {
      gateway = await lib.startGateway(args.gateway, path.join(work, 'gateway'), [{ name: 'signer-1', port: started.port }], pki,
        path.join(work, 'gateway.log'));
      alice = new Service(`unix:${gateway.socket}`, grpc.credentials.createInsecure());
    } else {
      alice = makeClient(Service, started.port, pki, 'validator-alice');
    }
    const intruder = makeClient(Service, started.port, pki, 'intruder');

    await lib.listingRpcs(alice);
    await lib.generateAndInsert(alice, bob, charlie, utilCrypto);
    await lib.vrfRpcs(alice, vrf, aliceSecret);
    await lib.grandpa(alice, utilCrypto);
    await lib.babe(alice, utilCrypto);
    await lib.beefy(alice, utilCrypto);
    await lib.parachain(alice, utilCrypto);
    await lib.signWithAnyAndAll(alice, utilCrypto);
    await lib.malformed(alice);
    if (!gateway) {
      await lib.denied(alice, intruder);
      await lib.mtls(Service, started.port, pki);
    }

    alice.close();
    intruder.close();
    if (gateway) check('signer-gateway stops cleanly on SIGTERM', await stopProcess(gateway.child));
    check('signerd stops cleanly on SIGTERM', await stopProcess(signerd));
    signerd = null;
    auditTrail(dev, !gateway);
    if (!gateway) await overload(dev, Service, path.join(work, 'signerd-overload.log'), utilCrypto);
  } catch (error) {
    console.error(`setup failed: ${error.stack || error}`);
    for (const name of ['signerd.log', 'gateway.log']) {
      const log = path.join(work, name);
      if (fs.existsSync(log)) console.error(`${name}:\n${fs.readFileSync(log, 'utf8')}`);
    }
    process.exitCode = 2;
  } finally {
    await lib.stopAll();
    fs.rmSync(work, { recursive: true, force: true });
  }
  if (process.exitCode === 2) return;
  process.exitCode = lib.summary('grpc_e2e');
}

// identical re-signs at once: the excess must be shed with RESOURCE_EXHAUSTED, and every answered one verify.
async function overload(dev, Service, logPath, utilCrypto) {
  const config = fs
    .readFileSync(dev.config, 'utf8')
    .replace(/^  max_in_flight: .*$/m, '  max_in_flight: 1')
    .replace(/^  worker_threads: .*$/m, '  worker_threads: 1');
  const configPath = path.join(path.dirname(logPath), 'signerd-overload.yaml');
  fs.writeFileSync(configPath, config, { mode: 0o600 });
  const started = await lib.startSignerd(args.signerd, configPath, dev.softhsm2_conf, logPath);
  try {
    const alice = makeClient(Service, started.port, dev.pki.directory, 'validator-alice');
    const vote = grandpaVote('Precommit', 0x61, 14000, 900, 8);
    const sign = () => signWith(alice, 'gran', 'ed25519', ALICE.ed25519, vote);
    checkOk('first vote on the overload signer', await sign());
    // Each answered request fsyncs an audit line on the one worker, so a burst of 64 outruns it; a few bursts
    // only make a scheduling fluke less likely, never a pass more likely when nothing is shed.
    let shed = 0;
    let answered = 0;
    let unexpected = null;
    for (let burst = 0; burst < 5 && shed === 0; burst++) {
      const results = await Promise.all(Array.from({ length: 64 }, sign));
      for (const r of results) {
        if (!r.err) {
          answered++;
          if (!utilCrypto.ed25519Verify(vote, r.reply.signature.signature, ALICE.ed25519)) unexpected = 'bad signature';
        } else if (r.err.code === CODE.RESOURCE_EXHAUSTED) {
          shed++;
        } else {
          unexpected = describe(r);
        }
      }
    }
    check('a burst beyond max_in_flight is shed with RESOURCE_EXHAUSTED', shed > 0, `${answered} answered, none shed`);
    check('requests in a burst are answered or shed, nothing else', unexpected === null, unexpected);
    check('some requests in a burst are answered', answered > 0);
    alice.close();
  } finally {
    check('the overload signer stops cleanly on SIGTERM', await stopProcess(started.child));
  }
}

// auditTrail checks, on the stopped signer, that the chain verifies and (when the intruder was sent) its denials
// are in it.
function auditTrail(dev, intruderSent) {
  const run = spawnSync(args.signerctl, ['audit', 'verify', dev.audit_log], { encoding: 'utf8' });
  check('audit chain verifies', run.status === 0, run.stdout + run.stderr);
  const lines = fs.readFileSync(dev.audit_log, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
  if (intruderSent) {
    check('intruder denials are audited', lines.some((l) => l.identity === 'intruder' && l.verdict === 'denied'));
  }
  check('equivocations are audited as refused', lines.some((l) => l.identity === 'validator-alice' && l.verdict.startsWith('refused')));
}

main().catch((error) => {
  console.error(error.stack || error);
  process.exitCode = 2;
});
