// End-to-end test of signer-gateway as a node sees it: the npm @grpc/grpc-js client on a gateway's Unix socket, the
// gateway pooling the three replicated signers of infra/dev/cluster.sh (plus one signer of another history).
// Usage: node grpc_gateway_cluster_e2e.js --signerd PATH --signerctl PATH --gateway PATH --broker PATH
//        [--cluster PATH] [--proto PATH]
// What it shows (docs/gateway.md): every RemoteKeystore method works through the gateway; a signer with a different
// history is left out of the pool even when it is listed first; a protection refusal (FAILED_PRECONDITION) comes back
// as it is and reaches no second signer; SIGKILL of the signer in use → the next request is signed by another one;
// conflicting votes stormed through two gateways at once (two nodes of one validator), while the signer in use is
// killed, never get two signatures for one round.
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
    gateway: null,
    broker: null,
    cluster: path.join(__dirname, '..', '..', 'infra', 'dev', 'cluster.sh'),
    proto: path.join(__dirname, '..', '..', 'signer', 'proto', 'remote_keystore.proto'),
  };
  for (let i = 2; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, '');
    if (!(name in args) || argv[i + 1] === undefined) {
      console.error(`unknown argument ${argv[i]}`);
      process.exit(2);
    }
    args[name] = argv[i + 1];
  }
  for (const name of Object.keys(args)) {
    if (!args[name] || !fs.existsSync(args[name])) {
      console.error(
        'usage: node grpc_gateway_cluster_e2e.js --signerd PATH --signerctl PATH --gateway PATH --broker PATH ' +
          '[--cluster PATH] [--proto PATH]',
      );
      process.exit(2);
    }
  }
  return args;
}

const args = parseArgs(process.argv);
const lib = require('./keystore_e2e_lib.js');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const { ALICE, CODE, check, checkCode, checkOk, describe, call, signWith, grandpaVote, stopProcess } = lib;

const SIGNERS = 3;
const STORM_ROUNDS = 40;

// ---------------------------------------------------------------------------------------------
// The cluster: infra/dev/cluster.sh, as a developer starts it, in this test's own directory.

function clusterCommand(clusterDir, ...argv) {
  return spawnSync('bash', [args.cluster, ...argv], {
    encoding: 'utf8',
    timeout: 300000,
    env: {
      ...process.env,
      SIGNER_CLUSTER_DIR: clusterDir,
      SIGNERD: args.signerd,
      SIGNERCTL: args.signerctl,
      KAFKA_DEV_BROKER: args.broker,
    },
  });
}

function startCluster(clusterDir) {
  lib.onExit(() => clusterCommand(clusterDir, 'down'));
  const run = clusterCommand(clusterDir, 'up', String(SIGNERS), '--base-port', '0');
  if (run.status !== 0) throw new Error(`cluster.sh up failed (${run.status}): ${run.stdout}${run.stderr}`);
  const signers = [];
  for (let i = 1; i <= SIGNERS; i++) {
    const dir = path.join(clusterDir, `signer-${i}`);
    const line = fs.readFileSync(path.join(dir, 'signerd.out'), 'utf8').split('\n')[0];
    const match = /^signerd listening on 127\.0\.0\.1:(\d+)$/.exec(line);
    if (!match) throw new Error(`signer-${i} printed no listening line: ${line}`);
    signers.push({
      name: `signer-${i}`,
      dir,
      port: Number(match[1]),
      pid: Number(fs.readFileSync(path.join(dir, 'signerd.pid'), 'utf8')),
      audit: path.join(dir, 'audit.jsonl'),
      alive: true,
    });
  }
  return signers;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// waitFor polls `condition` every 50 ms for up to `seconds`; resolves to whether it came true.
async function waitFor(condition, seconds) {
  for (let waited = 0; waited < seconds * 1000; waited += 50) {
    if (condition()) return true;
    await sleep(50);
  }
  return condition();
}

const logLines = (file) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n') : []);
const auditRecords = (file) =>
  logLines(file)
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));

// grantAcco gives validator-alice the acco grant the generate and insert checks need (as grpc_e2e.js does on a
// dev signer) in the cluster's one policy file, and has every signer reload it with SIGHUP.
async function grantAcco(signers, bobPublicKey) {
  const policyPath = path.join(signers[0].dir, 'policy.yaml');
  const policy = fs
    .readFileSync(policyPath, 'utf8')
    .replace(
      '  intruder: []',
      `    - {key_types: [acco], operations: [generate, insert, list, sign], public_keys: ["${hex(bobPublicKey)}"]}\n` +
        '  intruder: []',
    );
  // Renamed into place, so a signer never reads half a file.
  fs.writeFileSync(`${policyPath}.new`, policy, { mode: 0o600 });
  fs.renameSync(`${policyPath}.new`, policyPath);
  for (const signer of signers) {
    const log = path.join(signer.dir, 'signerd.log');
    const before = logLines(log).filter((line) => line.includes('policy reloaded')).length;
    process.kill(signer.pid, 'SIGHUP');
    const reloaded = await waitFor(
      () => logLines(log).filter((line) => line.includes('policy reloaded')).length > before,
      20,
    );
    if (!reloaded) throw new Error(`${signer.name} did not reload its policy`);
  }
}

// startForeignSigner runs one more signer on signer-1's token, PKI and policy but with a standalone history of its
// own: everything a gateway checks at the TLS layer is right, only its history differs.
function startForeignSigner(work, signers) {
  const dir = path.join(work, 'foreign');
  fs.mkdirSync(dir, { recursive: true });
  const first = signers[0].dir;
  const config = fs
    .readFileSync(path.join(first, 'signerd.yaml'), 'utf8')
    .replace(/^kafka:\n(?: .*\n?)*/m, '')
    .replace(/^signer_id: .*$/m, 'signer_id: signer-foreign')
    .replace(/^  data_dir: .*$/m, `  data_dir: ${path.join(dir, 'history')}`)
    .replace(/^  audit_log: .*$/m, `  audit_log: ${path.join(dir, 'audit.jsonl')}`)
    .replace(/^  listen: .*$/m, '  listen: "127.0.0.1:0"');
  if (/^kafka:/m.test(config)) throw new Error('the foreign signer kept a kafka section');
  const configPath = path.join(dir, 'signerd.yaml');
  fs.writeFileSync(configPath, config, { mode: 0o600 });
  return lib
    .startSignerd(args.signerd, configPath, path.join(first, 'softhsm2.conf'), path.join(dir, 'signerd.log'))
    .then((started) => ({ ...started, name: 'signer-foreign', audit: path.join(dir, 'audit.jsonl') }));
}

// describeHistory asks a signer's SignerInfo.Describe, as validator-alice, which history it decides against.
function describeHistory(port, pki) {
  const definition = protoLoader.loadSync(args.proto, { keepCase: true, longs: String, enums: String, defaults: true });
  const { SignerInfo } = grpc.loadPackageDefinition(definition).parity.polkadot.signer;
  const credentials = grpc.credentials.createSsl(
    fs.readFileSync(path.join(pki, 'ca.crt')),
    fs.readFileSync(path.join(pki, 'validator-alice.key')),
    fs.readFileSync(path.join(pki, 'validator-alice.crt')),
  );
  const client = new SignerInfo(`127.0.0.1:${port}`, credentials, { 'grpc.ssl_target_name_override': 'localhost' });
  return call(client, 'Describe', {}).then((result) => {
    client.close();
    if (result.err) throw new Error(`Describe failed: ${describe(result)}`);
    return result.reply;
  });
}

// Sign requests each signer has audited (allowed, refused, ...), read from its audit log.
const decisions = (signer) => auditRecords(signer.audit).filter((record) => record.method === 'SignWith').length;

// ---------------------------------------------------------------------------------------------

async function main() {
  const oracles = await common.loadOracles();
  const { utilCrypto } = oracles;
  await utilCrypto.cryptoWaitReady();
  const vrf = new common.IndependentVrf(oracles);
  const aliceSecret = common.oracleSecret(oracles, 'sr25519', '//Alice');
  const bob = common.oraclePair(oracles, 'sr25519', '//Bob');
  const charlie = common.oraclePair(oracles, 'sr25519', '//Charlie');

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'grpcjs-gateway-cluster-'));
  lib.setWorkDir(work);
  const clients = [];
  try {
    const signers = startCluster(path.join(work, 'cluster'));
    const pki = path.join(signers[0].dir, 'pki');
    await grantAcco(signers, bob.publicKey);
    const foreign = await startForeignSigner(work, signers);

    const described = await describeHistory(signers[0].port, pki);
    check('the cluster reports a replicated history', described.history_kind === 'replicated', JSON.stringify(described));
    const foreignDescribed = await describeHistory(foreign.port, pki);
    check('the foreign signer reports another history', foreignDescribed.history_id !== described.history_id);

    // Gateway A lists the foreign signer first, where it would be preferred if histories were not checked; both
    // gateways pin the cluster's history as an operator does (docs/gateway.md).
    const pool = signers.map(({ name, port }) => ({ name, port }));
    const pinned = [`history_id: "${described.history_id}"`];
    const gatewayA = await lib.startGateway(args.gateway, path.join(work, 'gateway-a'),
      [{ name: foreign.name, port: foreign.port }, ...pool], pki, path.join(work, 'gateway-a.log'), pinned);
    const gatewayB = await lib.startGateway(args.gateway, path.join(work, 'gateway-b'), pool, pki,
      path.join(work, 'gateway-b.log'), pinned);
    const Service = lib.loadService(args.proto);
    const nodeA = new Service(`unix:${gatewayA.socket}`, grpc.credentials.createInsecure());
    const nodeB = new Service(`unix:${gatewayB.socket}`, grpc.credentials.createInsecure());
    clients.push(nodeA, nodeB);

    // Every method, through the gateway to the replicated pool.
    await lib.listingRpcs(nodeA);
    await lib.generateAndInsert(nodeA, bob, charlie, utilCrypto);
    await lib.vrfRpcs(nodeA, vrf, aliceSecret);
    await lib.grandpa(nodeA, utilCrypto);
    await lib.babe(nodeA, utilCrypto);
    await lib.beefy(nodeA, utilCrypto);
    await lib.parachain(nodeA, utilCrypto);
    await lib.signWithAnyAndAll(nodeA, utilCrypto);
    await lib.malformed(nodeA);

    check('the foreign signer is refused from the pool with the reason',
      logLines(path.join(work, 'gateway-a.log')).some((line) =>
        line.includes(`upstream ${foreign.name} not eligible: reports history ${foreignDescribed.history_id}`)));
    check('the foreign signer was sent no sign request', decisions(foreign) === 0, `${decisions(foreign)} audited`);

    // A refusal is passed through and never retried on another signer of the pool.
    const gran = (node, message) => signWith(node, 'gran', 'ed25519', ALICE.ed25519, message);
    checkOk('a vote for round 300', await gran(nodeA, grandpaVote('Prevote', 0x30, 30000, 300, 5)));
    const before = signers.map(decisions);
    const refused = await gran(nodeA, grandpaVote('Prevote', 0x31, 30001, 300, 5));
    checkCode('a conflicting vote through the gateway is FAILED_PRECONDITION', refused, CODE.FAILED_PRECONDITION);
    const grew = signers.map((signer, i) => decisions(signer) - before[i]);
    check('the refused vote reached exactly one signer', grew.reduce((a, b) => a + b, 0) === 1 && grew.every((n) => n <= 1),
      `audited per signer: ${grew.join(', ')}`);

    // SIGKILL of the signer in use: the next request is signed by another one.
    const inUse = signers[grew.indexOf(1)];
    if (inUse) {
      process.kill(inUse.pid, 'SIGKILL');
      inUse.alive = false;
      const others = signers.filter((signer) => signer.alive);
      const othersBefore = others.map(decisions);
      const vote = grandpaVote('Prevote', 0x40, 40000, 400, 5);
      const r = await gran(nodeA, vote);
      if (checkOk(`the vote after SIGKILL of ${inUse.name} is signed`, r)) {
        check('the vote after the kill verifies', utilCrypto.ed25519Verify(vote, r.reply.signature.signature, ALICE.ed25519));
      }
      check('another signer of the pool decided it', others.some((signer, i) => decisions(signer) > othersBefore[i]));
    }

    await storm(nodeA, nodeB, signers, utilCrypto);

    for (const client of clients.splice(0)) client.close();
    check('gateway A stops cleanly on SIGTERM', await stopProcess(gatewayA.child));
    check('gateway B stops cleanly on SIGTERM', await stopProcess(gatewayB.child));
    check('the foreign signer stops cleanly on SIGTERM', await stopProcess(foreign.child));
    check('the foreign signer audited no sign request', decisions(foreign) === 0);
    // The surviving signers' audit chains verify once they have stopped.
    const down = clusterCommand(path.join(work, 'cluster'), 'down', '--keep');
    check('cluster.sh down', down.status === 0, down.stderr);
    for (const signer of signers.filter((s) => s.alive)) {
      const run = spawnSync(args.signerctl, ['audit', 'verify', signer.audit], { encoding: 'utf8' });
      check(`${signer.name}'s audit chain verifies`, run.status === 0, run.stdout + run.stderr);
    }
  } catch (error) {
    console.error(`setup failed: ${error.stack || error}`);
    for (const name of ['gateway-a.log', 'gateway-b.log', 'foreign/signerd.log', 'cluster/signer-1/signerd.log']) {
      const log = path.join(work, name);
      if (fs.existsSync(log)) console.error(`${name}:\n${fs.readFileSync(log, 'utf8').slice(-4000)}`);
    }
    process.exitCode = 2;
  } finally {
    for (const client of clients) client.close();
    await lib.stopAll();
  }
  if (process.exitCode === 2) return;
  process.exitCode = lib.summary('grpc_gateway_cluster_e2e');
}

// brief names a sign call's outcome in a few words (a reply's bytes would drown a failure report).
const brief = (r) => (r.err ? `status ${r.err.code} ${r.err.details}` : 'signed');

// storm sends, for each of STORM_ROUNDS rounds, one prevote through gateway A and a conflicting one through gateway
// B at the same time, and SIGKILLs the signer in use once a third of the rounds are answered. Safety: no round gets
// two signatures. Liveness: a round without a signature has a failure other than a refusal to show for it.
async function storm(nodeA, nodeB, signers, utilCrypto) {
  const votes = [];
  for (let round = 0; round < STORM_ROUNDS; round++) {
    votes.push([
      grandpaVote('Prevote', 0x50, 50000 + round, 500 + round, 6),
      grandpaVote('Prevote', 0x51, 50000 + round, 500 + round, 6),
    ]);
  }
  let answered = 0;
  let killed = null;
  const killInUse = () => {
    const alive = signers.filter((signer) => signer.alive);
    if (alive.length < 2) return;
    // The signer in use is the one that audited the latest sign request.
    const latest = alive
      .map((signer) => ({ signer, mtime: fs.statSync(signer.audit).mtimeMs }))
      .sort((a, b) => b.mtime - a.mtime)[0].signer;
    process.kill(latest.pid, 'SIGKILL');
    latest.alive = false;
    killed = latest.name;
  };
  const results = await Promise.all(
    votes.map(async (pair, round) => {
      const [a, b] = await Promise.all([
        signWith(nodeA, 'gran', 'ed25519', ALICE.ed25519, pair[0]),
        signWith(nodeB, 'gran', 'ed25519', ALICE.ed25519, pair[1]),
      ]);
      if (++answered === Math.floor(STORM_ROUNDS / 3)) killInUse();
      return { round, a, b };
    }),
  );
  check('a signer in use was killed during the storm', killed !== null);
  let signatures = 0;
  for (const { round, a, b } of results) {
    const signed = [a, b].filter((r) => !r.err);
    signatures += signed.length;
    check(`storm round ${round}: at most one signature`, signed.length <= 1, `${brief(a)} / ${brief(b)}`);
    for (const [r, vote] of [[a, votes[round][0]], [b, votes[round][1]]]) {
      if (!r.err) {
        check(`storm round ${round}: the signature verifies`,
          utilCrypto.ed25519Verify(vote, r.reply.signature.signature, ALICE.ed25519));
      }
    }
    if (signed.length === 0) {
      check(`storm round ${round}: no signature only after a failure that is not a refusal`,
        [a, b].some((r) => r.err.code !== CODE.FAILED_PRECONDITION), `${brief(a)} / ${brief(b)}`);
    }
  }
  console.log(`storm: ${STORM_ROUNDS} rounds through two gateways, ${signatures} signed, ${killed} killed mid-storm`);
}

main().catch((error) => {
  console.error(error.stack || error);
  process.exitCode = 2;
});
