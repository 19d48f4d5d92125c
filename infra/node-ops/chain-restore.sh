#!/usr/bin/env bash
# Restores a chain database snapshot made by chain-snapshot.sh, after checking its SHA-256 checksum.
#
# Usage: chain-restore.sh ARCHIVE DB_DIR
#   Checks ARCHIVE against ARCHIVE.sha256, unpacks it beside DB_DIR and renames it into place. DB_DIR
#   must not exist or be empty: an existing database is never overwritten (move it aside first). Stop
#   the node first. Exit 0 on success, 1 on a checksum mismatch or any failure (DB_DIR is then left as
#   it was), 2 on bad usage.
set -euo pipefail

if (($# != 2)); then
  sed -n '4,9p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
archive=$1
db_dir=${2%/}
if [[ ! -f $archive || ! -f $archive.sha256 ]]; then
  echo "chain-restore: need $archive and $archive.sha256" >&2
  exit 2
fi
if [[ -e $db_dir ]] && [[ ! -d $db_dir || -n $(ls -A "$db_dir") ]]; then
  echo "chain-restore: $db_dir exists and is not an empty directory; move it aside first" >&2
  exit 1
fi

expected=$(cut -d' ' -f1 "$archive.sha256")
actual=$(sha256sum "$archive" | cut -d' ' -f1)
if [[ ! $expected =~ ^[0-9a-f]{64}$ || $actual != "$expected" ]]; then
  echo "chain-restore: checksum mismatch for $archive (expected ${expected:-nothing}, got $actual); nothing restored" >&2
  exit 1
fi

parent=$(dirname "$db_dir")
mkdir -p "$parent"
staging=$(mktemp -d "$parent/.$(basename "$db_dir").restore.XXXXXX")
trap 'rm -rf "$staging"' EXIT
tar -C "$staging" -xzf "$archive"
sync -f "$staging"
if [[ -d $db_dir ]]; then
  rmdir "$db_dir"
fi
mv "$staging" "$db_dir"
trap - EXIT
echo "chain-restore: $archive restored into $db_dir (sha256 $actual)"
