// Shared by the payout scripts: the pinned metadata polkadot-js ships, read into a registry, and
// the chain profile (docs/rpc-pool.md, "Payout") derived from it.
'use strict';

const path = require('path');
const { TypeRegistry, Metadata, expandMetadata } = require('@polkadot/types');
const { knownGenesis } = require('@polkadot/networks/defaults');
const { blake2AsHex } = require('@polkadot/util-crypto');
const { hexToU8a } = require('@polkadot/util');

const CHAINS = ['polkadot', 'kusama'];
const PROFILE_DIR = path.join(__dirname, '..', '..', 'gateway', 'rpc_pool', 'chains');

function packageVersion (name) {
  // Read from the file: these packages' export maps do not expose package.json.
  const file = path.join(__dirname, 'node_modules', name, 'package.json');
  return JSON.parse(require('fs').readFileSync(file, 'utf8')).version;
}

// loadChain reads the static metadata of `chain` from @polkadot/types-support into a registry that
// encodes and decodes calls and extrinsics as that runtime does. Decoding the metadata is most of a
// check's time, so each chain is read once per process.
const loadedChains = new Map();
function loadChain (chain) {
  if (!CHAINS.includes(chain)) throw new Error(`unknown chain ${chain}`);
  if (!loadedChains.has(chain)) {
    const hex = require(`@polkadot/types-support/metadata/static-${chain}`).default;
    const registry = new TypeRegistry();
    const metadata = new Metadata(registry, hex);
    registry.setMetadata(metadata);
    loadedChains.set(chain, { registry, metadata, hex, decorated: expandMetadata(registry, metadata) });
  }
  return loadedChains.get(chain);
}

function variantIndex (registry, typeId, name) {
  const def = registry.lookup.getSiType(typeId).def;
  if (!def.isVariant) throw new Error(`type ${typeId} is not an enum`);
  const found = def.asVariant.variants.find((v) => v.name.toString() === name);
  if (!found) throw new Error(`type ${typeId} has no variant ${name}`);
  return found.index.toNumber();
}

// makeProfile derives every fact the C++ encoder needs from the metadata alone (and the genesis
// hash from @polkadot/networks, since metadata does not carry it). A fact the encoder relies on
// that the metadata contradicts throws here rather than landing in the profile.
function makeProfile (chain) {
  const { registry, metadata, hex, decorated } = loadChain(chain);
  const v14 = metadata.asV14;
  const system = v14.pallets.find((p) => p.name.toString() === 'System');
  const constant = (name) => system.constants.find((c) => c.name.toString() === name);
  const version = registry.createType('RuntimeVersion', constant('Version').value);
  const ss58 = registry.createType('u16', constant('SS58Prefix').value).toNumber();
  const batchAll = decorated.tx.utility.batchAll;
  const transfer = decorated.tx.balances.transferKeepAlive;
  const argTypes = transfer.meta.args.map((a) => a.type.toString());
  if (argTypes.join(',') !== 'MultiAddress,Compact<u128>') {
    throw new Error(`${chain}: transfer_keep_alive takes ${argTypes}`);
  }
  // The types of the extrinsic's address and signature, from the UncheckedExtrinsic's parameters.
  const extrinsicType = registry.lookup.getSiType(v14.extrinsic.type);
  const param = (name) => extrinsicType.params.find((p) => p.name.toString() === name).type.unwrap();
  const addressId = param('Address');
  const signatureId = param('Signature');
  const typeName = (id) => registry.lookup.getSiType(id).path.map((p) => p.toString()).join('::');
  const genesis = knownGenesis[chain][0];
  return {
    source: `derived by tests/oracle/make-payout-profiles.js from the static metadata of ` +
      `@polkadot/types-support ${packageVersion('@polkadot/types-support')} (metadata/static-${chain}) ` +
      `and the genesis hash of @polkadot/networks ${packageVersion('@polkadot/networks')}`,
    chain,
    spec_name: version.specName.toString(),
    spec_version: version.specVersion.toNumber(),
    transaction_version: version.transactionVersion.toNumber(),
    genesis_hash: genesis,
    ss58_prefix: ss58,
    metadata_blake2_256: blake2AsHex(hexToU8a(hex), 256),
    extrinsic_version: v14.extrinsic.version.toNumber(),
    address_type: typeName(addressId),
    address_id_variant: variantIndex(registry, addressId, 'Id'),
    signature_type: typeName(signatureId),
    signature_sr25519_variant: variantIndex(registry, signatureId, 'Sr25519'),
    utility_batch_all: Array.from(batchAll.callIndex),
    balances_transfer_keep_alive: Array.from(transfer.callIndex),
    signed_extensions: v14.extrinsic.signedExtensions.map((s) => ({
      identifier: s.identifier.toString(),
      extra: registry.lookup.getTypeDef(s.type).type,
      additional_signed: registry.lookup.getTypeDef(s.additionalSigned).type
    }))
  };
}

function profileText (chain) {
  return JSON.stringify(makeProfile(chain), null, 2) + '\n';
}

module.exports = { CHAINS, PROFILE_DIR, loadChain, makeProfile, profileText, packageVersion };
