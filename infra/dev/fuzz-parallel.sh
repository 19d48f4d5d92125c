#!/usr/bin/env bash
# Runs tests/fuzz/run.sh over the fuzz targets of BUILD_DIR in JOBS shards at once, so each libFuzzer
# target (single-threaded) still gets SECONDS of its own core while the cores are all busy. Each shard
# is a directory of hard links to its targets, laid out as run.sh expects; crash inputs land in
# BUILD_DIR/tests/fuzz/shards/N/tests/fuzz/artifacts/<target>/. Fails if any shard fails.
#
# Usage: bash infra/dev/fuzz-parallel.sh BUILD_DIR SECONDS [JOBS]   (JOBS defaults to nproc)
set -euo pipefail

if [[ $# -lt 2 || $# -gt 3 || ! $2 =~ ^[0-9]+$ ]]; then
  echo "usage: $0 BUILD_DIR SECONDS [JOBS]" >&2
  exit 2
fi
build_dir=$1
seconds=$2
jobs=${3:-$(nproc)}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

fuzzers=()
if [[ -d $build_dir/tests/fuzz ]]; then
  mapfile -t fuzzers < <(find "$build_dir/tests/fuzz" -maxdepth 1 -type f -name '*_fuzz' -perm -u+x | sort)
fi
if ((${#fuzzers[@]} == 0)); then
  echo "fuzz-parallel.sh: no fuzz targets in $build_dir/tests/fuzz" >&2
  exit 1
fi
if ((jobs < 2)); then
  exec bash "$repo/tests/fuzz/run.sh" "$build_dir" "$seconds"
fi

shards_root=$build_dir/tests/fuzz/shards
rm -rf "$shards_root"
for ((shard = 0; shard < jobs; shard++)); do
  mkdir -p "$shards_root/$shard/tests/fuzz"
done
# Round-robin over the sorted list, so each shard gets a similar mix of libraries.
for i in "${!fuzzers[@]}"; do
  ln "${fuzzers[$i]}" "$shards_root/$((i % jobs))/tests/fuzz/"
done

pids=()
for ((shard = 0; shard < jobs; shard++)); do
  if compgen -G "$shards_root/$shard/tests/fuzz/*_fuzz" >/dev/null; then
    bash "$repo/tests/fuzz/run.sh" "$shards_root/$shard" "$seconds" &
    pids+=($!)
  fi
done
failed=0
for pid in "${pids[@]}"; do
  wait "$pid" || failed=1
done
if ((failed)); then
  echo "fuzz-parallel.sh: a shard failed (inputs under $shards_root/*/tests/fuzz/artifacts)" >&2
  exit 1
fi
echo "fuzz-parallel.sh: all ${#fuzzers[@]} fuzzers ran clean in $jobs shards" >&2
