// Writes (or with --check compares) gateway/rpc_pool/chains/<chain>.json, the payout's pinned
// chain profiles, from the static metadata polkadot-js ships. Run: node make-payout-profiles.js
// [--check]. --check exits 1 when a checked-in profile differs from what the pinned packages give,
// so the pin cannot drift silently (ctest payout_profiles_pinned).
'use strict';

const fs = require('fs');
const path = require('path');
const { CHAINS, PROFILE_DIR, profileText } = require('./payout_common');

const check = process.argv.includes('--check');
let failed = false;
for (const chain of CHAINS) {
  const file = path.join(PROFILE_DIR, `${chain}.json`);
  const expected = profileText(chain);
  if (!check) {
    fs.writeFileSync(file, expected);
    console.log(`wrote ${path.relative(process.cwd(), file)}`);
    continue;
  }
  const actual = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  if (actual !== expected) {
    failed = true;
    console.error(`${file} differs from the pinned metadata; regenerate it:\n${expected}`);
  } else {
    console.log(`${chain}: profile matches the pinned metadata`);
  }
}
process.exit(failed ? 1 : 0);
