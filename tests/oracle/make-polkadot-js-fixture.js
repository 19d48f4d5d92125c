// Makes tests/cli/keys_polkadot_js_fixture.json: encrypted polkadot-js key exports (pair.toJson) for
// the `signerctl keys import --polkadot-js` tests, one per scheme, with the public key each holds.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

async function main() {
  const { Keyring } = require('@polkadot/keyring');
  const { cryptoWaitReady } = require('@polkadot/util-crypto');
  const { u8aToHex } = require('@polkadot/util');
  await cryptoWaitReady();

  // Dev SURIs, so the fixture holds no real secret; the password is stored beside each export
  // because the tests need it.
  const password = 'fixture password for polkadot-js export';
  const cases = [
    { type: 'sr25519', suri: '//PolkadotJsFixture' },
    { type: 'ed25519', suri: '//PolkadotJsFixture' },
    { type: 'ecdsa', suri: '//PolkadotJsFixture' },
  ];
  const exports = cases.map(({ type, suri }) => {
    const keyring = new Keyring({ type, ss58Format: 42 });
    const pair = keyring.addFromUri(suri, { name: `fixture ${type}` });
    return {
      type,
      suri,
      password,
      public_key: u8aToHex(pair.publicKey),
      address: pair.address,
      json: pair.toJson(password),
    };
  });
  const fixture = {
    source:
      'Made by tests/oracle/make-polkadot-js-fixture.js with @polkadot/keyring and ' +
      '@polkadot/util-crypto 14.0.3: new Keyring({type, ss58Format: 42}).addFromUri(suri), then ' +
      'pair.toJson(password) (scrypt N=2^17 r=8 p=1, xsalsa20-poly1305, random salt and nonce); ' +
      'public_key and address are the pair\'s own.',
    exports,
  };
  const out = path.join(__dirname, '..', 'cli', 'keys_polkadot_js_fixture.json');
  fs.writeFileSync(out, JSON.stringify(fixture, null, 1) + '\n');
  console.log(`wrote ${out}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
