// ctest payout_check_script: check-payout-extrinsic.js must accept every extrinsic of
// tests/vectors/payout/extrinsics.json and refuse each of them spoilt (a signature bit, another
// amount, another destination order, another nonce, the other chain's metadata). A check that
// accepted everything would let rpc-pool-payout submit anything. Every verdict is asked of the
// module in this process; the two that matter most (as built, a spoilt byte) also of the command
// rpc-pool-payout runs, which reads the metadata afresh each time.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { checkPayoutExtrinsic, Refusal } = require('./check-payout-extrinsic');

const script = path.join(__dirname, 'check-payout-extrinsic.js');
const vectors = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'vectors', 'payout', 'extrinsics.json'), 'utf8'));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'payout-check-'));
let failures = 0;

function checkByCommand (chain, expect, extrinsic) {
  const file = path.join(dir, 'expect.json');
  fs.writeFileSync(file, JSON.stringify(expect));
  const run = spawnSync(process.execPath, [script, '--chain', chain, '--expect', file], { input: extrinsic });
  return run.status === 0;
}

async function checkInProcess (chain, expect, extrinsic) {
  try {
    await checkPayoutExtrinsic(chain, expect, extrinsic);
    return true;
  } catch (error) {
    if (error instanceof Refusal) return false;
    throw error;
  }
}

function expectOutcome (name, accepted, wanted) {
  if (accepted !== wanted) {
    failures++;
    console.error(`FAIL ${name}: ${accepted ? 'accepted' : 'refused'}, wanted ${wanted ? 'accepted' : 'refused'}`);
  }
}

async function main () {
  for (const c of vectors.cases) {
    const expect = { signer: c.signer, nonce: c.nonce, transfers: c.transfers };
    const hex = c.extrinsic;
    // Ten bytes before the call is the end of the signature (the extra is at most 7 bytes here).
    const at = hex.length - 2 * (c.call.length / 2) - 20;
    const flipped = hex.slice(0, at) + (parseInt(hex[at], 16) ^ 1).toString(16) + hex.slice(at + 1);
    expectOutcome(`${c.name} as built (command)`, checkByCommand(c.chain, expect, hex), true);
    expectOutcome(`${c.name} with a spoilt byte (command)`, checkByCommand(c.chain, expect, flipped), false);

    expectOutcome(`${c.name} as built`, await checkInProcess(c.chain, expect, hex), true);
    expectOutcome(`${c.name} with a spoilt byte`, await checkInProcess(c.chain, expect, flipped), false);
    const more = JSON.parse(JSON.stringify(expect));
    more.transfers[0].amount = String(BigInt(more.transfers[0].amount) + 1n);
    expectOutcome(`${c.name} expecting another amount`, await checkInProcess(c.chain, more, hex), false);
    expectOutcome(`${c.name} expecting another nonce`,
      await checkInProcess(c.chain, { ...expect, nonce: c.nonce + 1 }, hex), false);
    if (expect.transfers.length > 1) {
      const swapped = { ...expect, transfers: [...expect.transfers].reverse() };
      expectOutcome(`${c.name} expecting another order`, await checkInProcess(c.chain, swapped, hex), false);
    }
    const other = c.chain === 'polkadot' ? 'kusama' : 'polkadot';
    expectOutcome(`${c.name} read as ${other}`, await checkInProcess(other, expect, hex), false);
  }
  console.log(failures === 0 ? `all ${vectors.cases.length} vectors judged right` : `${failures} failures`);
}

main()
  .catch((error) => {
    failures++;
    console.error(`FAIL: ${error.stack || error}`);
  })
  .finally(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    process.exit(failures === 0 ? 0 : 1);
  });
