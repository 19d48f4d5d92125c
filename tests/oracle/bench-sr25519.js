// Measures @polkadot/wasm-crypto's sr25519Sign rate (schnorrkel compiled to wasm) as a yardstick for ours.
// Usage: node bench-sr25519.js [--runs R] [--seconds S] [--message-bytes M] [--json]
// Prints the median signatures per second over R runs of about S seconds each (one warm-up run first).
'use strict';

const common = require('./oracle_common.js');

function parseArgs(argv) {
  const args = { runs: 7, seconds: 1, messageBytes: 32, json: false };
  for (let i = 2; i < argv.length; i++) {
    if (argv[i] === '--json') args.json = true;
    else if (argv[i] === '--runs') args.runs = Number(argv[++i]);
    else if (argv[i] === '--seconds') args.seconds = Number(argv[++i]);
    else if (argv[i] === '--message-bytes') args.messageBytes = Number(argv[++i]);
    else {
      console.error(`unknown argument ${argv[i]}`);
      process.exit(2);
    }
  }
  return args;
}

// oneRun signs in batches until `seconds` have passed and returns signatures per second.
function oneRun(sign, seconds) {
  const budget = BigInt(Math.round(seconds * 1e9));
  const start = process.hrtime.bigint();
  let done = 0;
  let elapsed = 0n;
  while (elapsed < budget) {
    for (let i = 0; i < 64; i++) sign();
    done += 64;
    elapsed = process.hrtime.bigint() - start;
  }
  return done / (Number(elapsed) / 1e9);
}

async function main() {
  const args = parseArgs(process.argv);
  const { wasm } = await common.loadOracles();
  await wasm.waitReady();
  const rng = new common.SeededRng('bench-sr25519');
  const pair = wasm.sr25519KeypairFromSeed(rng.bytes(32));
  const secret = pair.subarray(0, 64);
  const publicKey = pair.subarray(64, 96);
  const message = rng.bytes(args.messageBytes);
  let sink = 0;
  const sign = () => {
    sink ^= wasm.sr25519Sign(publicKey, secret, message)[0];
  };
  if (!wasm.sr25519Verify(wasm.sr25519Sign(publicKey, secret, message), message, publicKey)) {
    console.error('wasm sr25519 self-check failed');
    process.exit(1);
  }

  oneRun(sign, Math.min(args.seconds, 0.5));  // warm-up: JIT and wasm tiering
  const rates = [];
  for (let r = 0; r < args.runs; r++) rates.push(oneRun(sign, args.seconds));
  const sorted = [...rates].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  const result = {
    name: 'wasm-crypto sr25519Sign',
    version: common.packageVersions().split(', ').find((v) => v.startsWith('@polkadot/wasm-crypto')),
    message_bytes: args.messageBytes,
    runs: rates.map((r) => Math.round(r)),
    median_per_second: Math.round(median),
    sink,
  };
  if (args.json) {
    console.log(JSON.stringify(result));
  } else {
    console.log(`${result.name} (${result.version}, ${args.messageBytes}-byte message): ` +
      `median ${result.median_per_second} signatures/s over ${args.runs} runs [${result.runs.join(', ')}]`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
