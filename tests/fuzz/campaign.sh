#!/usr/bin/env bash
# Long fuzzing campaign (not a CI stage): runs each libFuzzer target in turn for a time or an
# execution count on a working corpus kept between runs, prints executions and findings per target,
# and merges what it found back into the seed corpus only when asked.
set -euo pipefail

usage() {
  cat >&2 <<'EOF'
usage: campaign.sh [--seconds N | --runs N] [--corpus-dir DIR] [--targets a,b,...] [--merge-back]
                   BUILD_DIR

  BUILD_DIR       a clang build with -DSIGNER_FUZZ=ON (see infra/dev/test.sh)
  --seconds N     fuzz each target for N seconds (default 60)
  --runs N        fuzz each target for N executions instead
  --corpus-dir    where working corpora, crash artifacts, logs and the run history live, outside
                  the repository by default: ${XDG_CACHE_HOME:-~/.cache}/signer-fuzz
  --targets       only these targets (comma-separated names such as keymgr_polkadot_js_fuzz)
  --merge-back    after fuzzing, add the working-corpus inputs that bring new coverage to
                  tests/fuzz/corpus/<target> (libFuzzer -merge=1); off by default so a campaign
                  never changes the checked-in seeds unasked

Targets run one after another, never in parallel: run it under `nice -n 19` on a shared machine.
Exits 1 if any target had a finding (its input is kept under CORPUS_DIR/artifacts/<target>/).
EOF
  exit 2
}

seconds=60
runs=""
corpus_root="${XDG_CACHE_HOME:-$HOME/.cache}/signer-fuzz"
only_targets=""
merge_back=0
while (($# > 0)); do
  case $1 in
    --seconds) seconds=${2:-}; runs=""; shift 2 ;;
    --runs) runs=${2:-}; shift 2 ;;
    --corpus-dir) corpus_root=${2:-}; shift 2 ;;
    --targets) only_targets=${2:-}; shift 2 ;;
    --merge-back) merge_back=1; shift ;;
    -h | --help) usage ;;
    -*) echo "campaign.sh: unknown option $1" >&2; usage ;;
    *) break ;;
  esac
done
if [[ $# -ne 1 || -z $corpus_root ]]; then
  usage
fi
if [[ -n $runs && ! $runs =~ ^[0-9]+$ ]] || [[ -z $runs && ! $seconds =~ ^[0-9]+$ ]]; then
  echo "campaign.sh: --seconds and --runs take a whole number" >&2
  exit 2
fi
build_dir=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
seeds_root="$here/corpus"

fuzzers=()
if [[ -d $build_dir/tests/fuzz ]]; then
  mapfile -t fuzzers < <(find "$build_dir/tests/fuzz" -maxdepth 1 -type f -name '*_fuzz' -perm -u+x | sort)
fi
if [[ -n $only_targets ]]; then
  selected=()
  IFS=, read -r -a wanted <<<"$only_targets"
  for fuzzer in "${fuzzers[@]}"; do
    for name in "${wanted[@]}"; do
      [[ $(basename "$fuzzer") == "$name" ]] && selected+=("$fuzzer")
    done
  done
  fuzzers=("${selected[@]}")
fi
if ((${#fuzzers[@]} == 0)); then
  echo "campaign.sh: no fuzz targets to run in $build_dir/tests/fuzz (configure with -DSIGNER_FUZZ=ON)" >&2
  exit 1
fi

mkdir -p "$corpus_root/corpus" "$corpus_root/artifacts" "$corpus_root/logs"
history="$corpus_root/history.tsv"
[[ -f $history ]] || printf 'date\ttarget\tlimit\texecutions\texec_per_s\tnew_corpus\tfindings\n' >"$history"

# UBSan only warns by default; a finding must stop the target and be kept.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

if [[ -n $runs ]]; then
  limit=(-runs="$runs")
  limit_text="${runs} runs"
else
  limit=(-max_total_time="$seconds")
  limit_text="${seconds}s"
fi

count_files() { find "$1" -maxdepth 1 -type f | wc -l; }
stat_of() { sed -n "s/^stat::$1: *//p" "$2" | tail -n 1; }

rows=()
any_finding=0
for fuzzer in "${fuzzers[@]}"; do
  name=$(basename "$fuzzer")
  working="$corpus_root/corpus/$name"
  artifacts="$corpus_root/artifacts/$name"
  seeds="$seeds_root/$name"
  mkdir -p "$working" "$artifacts"
  log="$corpus_root/logs/$name.log"
  corpus_before=$(count_files "$working")
  artifacts_before=$(count_files "$artifacts")
  # The seeds are a second, read-only corpus: libFuzzer writes new inputs only to the first one.
  seed_args=()
  [[ -d $seeds ]] && seed_args=("$seeds")
  echo "campaign.sh: $name for $limit_text" >&2
  status=0
  "$fuzzer" "${limit[@]}" -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$working" "${seed_args[@]}" >"$log" 2>&1 || status=$?

  # Keep the working corpus small between runs: only inputs that add coverage survive.
  minimised="$corpus_root/corpus/.$name.minimised"
  rm -rf "$minimised"
  mkdir -p "$minimised"
  if "$fuzzer" -merge=1 "$minimised" "$working" >"$log.merge" 2>&1; then
    rm -rf "$working"
    mv "$minimised" "$working"
  else
    rm -rf "$minimised"
    echo "campaign.sh: $name: minimising the working corpus failed (see $log.merge)" >&2
  fi

  executions=$(stat_of number_of_executed_units "$log")
  per_second=$(stat_of average_exec_per_sec "$log")
  new_corpus=$(($(count_files "$working") - corpus_before))
  findings=$(($(count_files "$artifacts") - artifacts_before))
  # A crash that wrote no artifact (or an abort in the harness) is still a finding.
  if ((status != 0 && findings == 0)); then findings=1; fi
  ((findings > 0)) && any_finding=1
  rows+=("$name|${executions:-?}|${per_second:-?}|$new_corpus|$findings")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$name" "$limit_text" \
    "${executions:-0}" "${per_second:-0}" "$new_corpus" "$findings" >>"$history"
  if ((findings > 0)); then
    echo "campaign.sh: $name FOUND something; end of its log ($log):" >&2
    tail -n 40 "$log" >&2
  fi

  if ((merge_back)); then
    mkdir -p "$seeds"
    before=$(count_files "$seeds")
    "$fuzzer" -merge=1 "$seeds" "$working" >"$log.merge-back" 2>&1
    echo "campaign.sh: $name: merged $(($(count_files "$seeds") - before)) inputs into" \
      "tests/fuzz/corpus/$name" >&2
  fi
done

# Totals over every run recorded in the history, the figure the 10 million goal is about.
declare -A total
while IFS=$'\t' read -r _ target _ executions _; do
  total[$target]=$((${total[$target]:-0} + executions))
done < <(tail -n +2 "$history")

printf '\n%-34s %12s %9s %11s %9s %16s\n' target executions exec/s "new corpus" findings \
  "all runs (execs)"
for row in "${rows[@]}"; do
  IFS='|' read -r name executions per_second new_corpus findings <<<"$row"
  printf '%-34s %12s %9s %11s %9s %16s\n' "$name" "$executions" "$per_second" "$new_corpus" \
    "$findings" "${total[$name]:-0}"
done
echo "campaign.sh: corpora, artifacts, logs and history in $corpus_root" >&2
exit "$any_finding"
