#!/usr/bin/env bash
# Applies the polkadot-sdk patch series to a checkout, vendors the remote-keystore crate into it, runs cargo check.
#
# Usage: bash node-patches/apply.sh SDK_DIR
#   SDK_DIR   a clean git checkout of paritytech/polkadot-sdk (polkadot-sdk/BASE names the commit the series was
#             written against). Needs cargo with crates.io access and protoc (Debian: protobuf-compiler).
# Nothing is changed unless every patch applies; a context line that differs stops it with git's message.
set -euo pipefail

die() {
  echo "apply.sh: $*" >&2
  exit 1
}

(($# == 1)) || die "usage: bash node-patches/apply.sh SDK_DIR"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
sdk=$(cd "$1" && pwd) || die "$1: no such directory"

[[ -f $sdk/substrate/primitives/keystore/src/lib.rs && -f $sdk/substrate/client/service/src/builder.rs ]] ||
  die "$sdk is not a polkadot-sdk checkout"
git -C "$sdk" diff --quiet && git -C "$sdk" diff --cached --quiet || die "$sdk has uncommitted changes"
[[ ! -e $sdk/substrate/client/keystore-remote ]] || die "$sdk already has substrate/client/keystore-remote (applied before?)"
command -v cargo >/dev/null || die "cargo is needed"
command -v protoc >/dev/null || die "protoc is needed (Debian: apt-get install protobuf-compiler)"

base=$(sed -n 's/^commit=//p' "$here/polkadot-sdk/BASE")
head=$(git -C "$sdk" rev-parse HEAD)
if [[ $head != "$base" ]]; then
  echo "apply.sh: $sdk is at $head; the series was written against $base" >&2
fi

patches=("$here"/polkadot-sdk/0*.patch)
git -C "$sdk" apply --check "${patches[@]}"
git -C "$sdk" apply "${patches[@]}"
echo "apply.sh: applied ${#patches[@]} patches" >&2

# The client crate, as sc-keystore-remote's path dependency: sources, build script, the proto; not its offline
# Debian settings (.cargo/), its lock file, its tests or their dev-dependencies.
client=$sdk/substrate/client/keystore-remote/client
mkdir -p "$client/proto"
cp -R "$repo/node-patches/remote-keystore/src" "$repo/node-patches/remote-keystore/build.rs" "$client/"
sed '/^\[dev-dependencies\]/,$d' "$repo/node-patches/remote-keystore/Cargo.toml" >"$client/Cargo.toml"
cp "$repo/signer/proto/remote_keystore.proto" "$client/proto/"

# The crates that reach sc-keystore-remote; cargo add keeps each manifest's own layout.
(cd "$sdk" && cargo add --quiet --package sc-service --path substrate/client/keystore-remote)
(cd "$sdk" && cargo add --quiet --package sc-cli --path substrate/client/keystore-remote)
(cd "$sdk" && cargo add --quiet --package polkadot-service --path substrate/client/keystore-remote)

(cd "$sdk" && cargo check -p sc-keystore-remote -p sc-service -p sc-cli -p sc-consensus-babe -p sc-consensus-beefy \
  -p polkadot-service)
echo "apply.sh: done; build the node with: cargo build --release -p polkadot" >&2
