// Latency of one ed25519 GRANDPA prevote through @grpc/grpc-js: prints one microsecond figure per call.
// Usage: node ed25519_sign_latency.js PORT PKI_DIR COUNT FIRST_ROUND  (NODE_PATH: tests/oracle/node_modules)
// Calls are sequential on one channel; the first (connection) is not printed.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const [port, pki, countText, firstRoundText] = process.argv.slice(2);
if (firstRoundText === undefined) {
  console.error('usage: node ed25519_sign_latency.js PORT PKI_DIR COUNT FIRST_ROUND');
  process.exit(2);
}
const count = Number(countText);
const firstRound = BigInt(firstRoundText);
const proto = path.join(__dirname, '..', '..', '..', 'signer', 'proto', 'remote_keystore.proto');
const definition = protoLoader.loadSync(proto, { keepCase: true, defaults: true });
const Service = grpc.loadPackageDefinition(definition).parity.polkadot.signer.RemoteKeystore;
const credentials = grpc.credentials.createSsl(
  fs.readFileSync(path.join(pki, 'ca.crt')),
  fs.readFileSync(path.join(pki, 'validator-alice.key')),
  fs.readFileSync(path.join(pki, 'validator-alice.crt')),
);
const client = new Service(`127.0.0.1:${port}`, credentials, { 'grpc.ssl_target_name_override': 'localhost' });
const alice = Buffer.from('88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee', 'hex');

function prevote(round) {
  const vote = Buffer.alloc(53);
  vote[0] = 0;
  vote.fill(0x42, 1, 33);
  vote.writeUInt32LE(Number(round & 0xffffffffn), 33);
  vote.writeBigUInt64LE(round, 37);
  vote.writeBigUInt64LE(1n, 45);
  return vote;
}

function sign(round) {
  const request = { key_type: 'gran', crypto_type: 'ed25519', public_key: alice, message: prevote(round) };
  return new Promise((resolve, reject) => {
    client.SignWith(request, { deadline: Date.now() + 10000 }, (err, reply) => {
      if (err || reply.signature.signature.length !== 64) reject(err || new Error('no signature'));
      else resolve();
    });
  });
}

(async () => {
  const out = [];
  for (let index = 0; index <= count; index++) {
    const started = process.hrtime.bigint();
    await sign(firstRound + BigInt(index));
    const micros = (process.hrtime.bigint() - started) / 1000n;
    if (index > 0) out.push(String(micros));
  }
  process.stdout.write(out.join('\n') + '\n');
  client.close();
})().catch((error) => {
  console.error(error.message || error);
  process.exit(1);
});
