#!/usr/bin/env bash
# Tests chain-snapshot.sh and chain-restore.sh on a directory it makes: round trip, corruption, refusals.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/chain-snapshot-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
failures=0
fail() {
  echo "chain-snapshot_test: FAIL: $*" >&2
  failures=$((failures + 1))
}

# A database-like tree: nested directories, binary files, an empty file, a name with a space.
db=$work/chains/polkadot/db/full
mkdir -p "$db/col/sub" "$db/empty dir"
head -c 200000 /dev/urandom >"$db/col/000001.sst"
head -c 3000 /dev/urandom >"$db/col/sub/MANIFEST-000002"
: >"$db/LOCK"
printf 'polkadot\n' >"$db/name with space"

"$here/chain-snapshot.sh" "$db" "$work/snapshots" snap1 >/dev/null
[[ -f $work/snapshots/snap1.tar.gz && -f $work/snapshots/snap1.tar.gz.sha256 ]] || fail "no archive or checksum"
[[ -z $(find "$work/snapshots" -name '.snap1.*') ]] || fail "a temporary file was left behind"

# Round trip: the restored tree is byte for byte the original.
"$here/chain-restore.sh" "$work/snapshots/snap1.tar.gz" "$work/restored/db/full" >/dev/null
diff -r "$db" "$work/restored/db/full" >/dev/null || fail "restored tree differs from the original"

# An existing archive is never replaced.
if "$here/chain-snapshot.sh" "$db" "$work/snapshots" snap1 >/dev/null 2>&1; then
  fail "snapshot replaced an existing archive"
fi

# A restore never overwrites a database that is there.
if "$here/chain-restore.sh" "$work/snapshots/snap1.tar.gz" "$work/restored/db/full" >/dev/null 2>&1; then
  fail "restore overwrote an existing database"
fi

# An archive that is not the one checksummed is refused and nothing is created: a valid archive of
# another tree under the first one's checksum, so only the checksum can tell.
printf 'changed\n' >"$db/name with space"
"$here/chain-snapshot.sh" "$db" "$work/other" snap1 >/dev/null
cp "$work/other/snap1.tar.gz" "$work/snapshots/bad.tar.gz"
cp "$work/snapshots/snap1.tar.gz.sha256" "$work/snapshots/bad.tar.gz.sha256"
if "$here/chain-restore.sh" "$work/snapshots/bad.tar.gz" "$work/corrupt/db" >/dev/null 2>&1; then
  fail "restore accepted an archive that does not match its checksum"
fi
[[ ! -e $work/corrupt/db ]] || fail "a refused restore left a database behind"

# A missing checksum file is bad usage.
rm "$work/snapshots/bad.tar.gz.sha256"
status=0
"$here/chain-restore.sh" "$work/snapshots/bad.tar.gz" "$work/corrupt/db" >/dev/null 2>&1 || status=$?
((status == 2)) || fail "a restore without a checksum file exited $status, not 2"

if ((failures > 0)); then
  exit 1
fi
echo "chain-snapshot_test: 6 checks passed"
