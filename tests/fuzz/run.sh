#!/usr/bin/env bash
# Runs every libFuzzer target built in BUILD_DIR for SECONDS each, on a scratch copy of its seed corpus
# (the checked-in corpus is never modified); fails if any target crashes, leaks or times out.
set -euo pipefail

if [[ $# -ne 2 || ! $2 =~ ^[0-9]+$ ]]; then
  echo "usage: $0 BUILD_DIR SECONDS" >&2
  exit 2
fi
build_dir=$1
seconds=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

fuzzers=()
if [[ -d $build_dir/tests/fuzz ]]; then
  mapfile -t fuzzers < <(find "$build_dir/tests/fuzz" -maxdepth 1 -type f -name '*_fuzz' -perm -u+x | sort)
fi
if ((${#fuzzers[@]} == 0)); then
  echo "run.sh: no fuzz targets in $build_dir/tests/fuzz (configure with -DSIGNER_FUZZ=ON and build)" >&2
  exit 1
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# Crash inputs are kept beside the build so a failure can be reproduced with `<fuzzer> <file>`.
artifacts_root="$build_dir/tests/fuzz/artifacts"

# UBSan only warns by default; a finding must fail the run.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

failed=()
for fuzzer in "${fuzzers[@]}"; do
  name=$(basename "$fuzzer")
  corpus="$scratch/$name"
  mkdir -p "$corpus" "$artifacts_root/$name"
  if [[ -d $here/corpus/$name ]]; then
    cp -R "$here/corpus/$name/." "$corpus/"
  else
    echo "run.sh: warning: $name has no seed corpus in corpus/$name" >&2
  fi
  log="$scratch/$name.log"
  echo "run.sh: $name for ${seconds}s" >&2
  if "$fuzzer" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$artifacts_root/$name/" "$corpus" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    echo "run.sh: $name ran clean (${runs:-?} inputs)" >&2
  else
    echo "run.sh: $name FAILED; end of its log:" >&2
    tail -n 60 "$log" >&2
    failed+=("$name")
  fi
done

if ((${#failed[@]} > 0)); then
  echo "run.sh: failing fuzzers: ${failed[*]} (inputs in $artifacts_root)" >&2
  exit 1
fi
echo "run.sh: all ${#fuzzers[@]} fuzzers ran clean" >&2
