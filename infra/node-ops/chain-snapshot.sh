#!/usr/bin/env bash
# Snapshots a stopped node's chain database directory into a tar archive with a SHA-256 checksum file.
#
# Usage: chain-snapshot.sh DB_DIR OUT_DIR [NAME]
#   Writes OUT_DIR/NAME.tar.gz and OUT_DIR/NAME.tar.gz.sha256 (NAME defaults to the directory's name and
#   the UTC time). Stop the node first: a database copied while it is written is not a snapshot. The
#   archive is written under a temporary name, fsynced, checksummed and only then renamed into place,
#   so a NAME.tar.gz that exists is complete. Exit 0 on success, 1 on failure, 2 on bad usage.
set -euo pipefail

if (($# < 2 || $# > 3)); then
  sed -n '4,9p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
db_dir=${1%/}
out_dir=$2
name=${3:-$(basename "$db_dir")-$(date -u +%Y%m%dT%H%M%SZ)}
if [[ ! -d $db_dir ]]; then
  echo "chain-snapshot: $db_dir is not a directory" >&2
  exit 2
fi
if [[ $name == */* || -z $name ]]; then
  echo "chain-snapshot: NAME must be a plain file name" >&2
  exit 2
fi
mkdir -p "$out_dir"
archive=$out_dir/$name.tar.gz
if [[ -e $archive ]]; then
  echo "chain-snapshot: $archive exists; not replacing it" >&2
  exit 1
fi

partial=$(mktemp "$out_dir/.$name.XXXXXX")
trap 'rm -f "$partial"' EXIT
# Paths inside the archive are relative to the database directory, so a restore can put it anywhere.
tar -C "$db_dir" -czf "$partial" .
sync "$partial"
checksum=$(sha256sum "$partial" | cut -d' ' -f1)
mv "$partial" "$archive"
trap - EXIT
printf '%s  %s\n' "$checksum" "$name.tar.gz" >"$archive.sha256"
sync "$archive.sha256" "$out_dir"
echo "chain-snapshot: $archive ($(du -h "$archive" | cut -f1), sha256 $checksum)"
