#!/usr/bin/env bash
# Counts a development signerd's mallocs and system calls per signed request, and who makes the mallocs, with perf.
#
# Usage: bash tests/bench/signed_path_counts.sh [--build-dir DIR] [--no-build] [--mix standard|grandpa|sr25519]
#                                               [--requests N]
#   Starts a dev signerd (64 workers, 1,024 requests in flight, as signerd_load.sh does), warms it with 500 signed
#   requests, then runs N and then 2N more (default N 2,000; 8 clients) while perf counts every call of libc's
#   malloc in signerd (`perf stat` on a uprobe) and its system calls (tracepoints), and records every 7th malloc
#   with its call stack. Counts, unlike CPU samples, hold still on a shared machine; the difference between the two
#   runs is what one request costs, each run's TLS handshakes cancelled out. Prints mallocs and system calls per
#   signed request (the total and the common ones), then the mallocs split by the innermost owner on the sampled
#   stacks (a C_* entry point of the PKCS#11 module, gRPC, our pipeline under Pipeline::SignWith, our service
#   under KeystoreService; sampled, so the split moves by a few tens of percent between runs while the total does
#   not) and the ten functions of ours nearest to the most. The uprobe slows every malloc, so the request rates
#   mean nothing. Needs perf (Debian's linux-perf) and root (uprobes); the probe is removed at exit.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=SCRIPTDIR/dev_signerd.sh
source "$repo/tests/bench/dev_signerd.sh"
build_dir=$repo/build
do_build=true
mix=standard
requests=2000
while (($#)); do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --no-build) do_build=false; shift ;;
    --mix) mix=$2; shift 2 ;;
    --requests) requests=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "signed_path_counts.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
dev_require_perf
if $do_build; then
  cmake --build "$build_dir" --target signerd signerctl signerd_load
fi

libc=$(ldd "$build_dir/bin/signerd" | awk '$1 == "libc.so.6" { print $3 }')
work=$(mktemp -d "${TMPDIR:-/tmp}/signed-path-counts.XXXXXX")
signerd_pid=
probe=
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
  dev_signerd_stop
  if [[ -n $probe ]]; then perf probe -q -d "$probe" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The probe is named after this run, so two runs (or a probe of someone else's) never collide.
probe_name=signer_malloc_$$
perf probe -q -x "$libc" --add "$probe_name=malloc"
probe=probe_libc:$probe_name

dev=$work/dev
dev_signerd_init "$build_dir/bin/signerctl" "$dev"
dev_signerd_set_server "$dev/signerd.yaml" 64 1024
dev_signerd_start "$build_dir/bin/signerd" "$dev"
load() {
  "$build_dir/tests/bench/signerd_load" --target "$signerd_address" --pki "$dev/pki" --clients 8 \
    --requests "$1" --repetitions 1 --no-half-peak --no-null --mix "$mix"
}
load 500 >/dev/null

# The system calls counted one by one (the total is raw_syscalls:sys_enter): syncs, the futexes and yields of
# thread hand-offs, the socket's, and the file calls SoftHSM2 makes to re-check an object's file.
syscalls=(fdatasync fsync futex sched_yield sendmsg recvmsg epoll_wait write read openat newfstatat close)
syscall_events=raw_syscalls:sys_enter
for name in "${syscalls[@]}"; do syscall_events+=",syscalls:sys_enter_$name"; done

# measure N TAG: N signed requests under perf. TAG.count holds the exact malloc count, TAG.syscalls the system
# calls (count and event per line), TAG.classes and TAG.functions the sampled mallocs per owner and per nearest
# function of ours.
measure() {
  local n=$1 tag=$work/$2
  perf stat -x, -e "$probe,$syscall_events" -p "$signerd_pid" -o "$tag.csv" &
  local stat_pid=$!
  perf record -q -e "$probe" -c 7 --call-graph dwarf,8192 -p "$signerd_pid" -o "$tag.data" 2>"$tag.log" &
  local record_pid=$!
  sleep 1  # perf attaches to every thread before the first request
  load "$n" >"$tag.out"
  kill -INT "$stat_pid" "$record_pid"
  wait "$stat_pid" "$record_pid" || true
  if ! grep -q "equivocation attempts: [0-9]*, not refused: 0; failed requests: 0" "$tag.out"; then
    echo "signed_path_counts.sh: the load run failed:" >&2
    cat "$tag.out" >&2
    exit 1
  fi
  awk -F, -v probe="$probe" '$3 == probe { print $1 }' "$tag.csv" >"$tag.count"
  awk -F, -v probe="$probe" 'NF > 3 && $3 != probe { print $1 "\t" $3 }' "$tag.csv" >"$tag.syscalls"
  # perf script prints each sample as a header line, one line per frame ("addr symbol+off (dso)"), then a
  # blank line. A stack belongs to the innermost frame that names an owner: a C_* entry point of the module,
  # a gRPC function, our pipeline or our service (a reply sent on our worker is gRPC's, though our lambda
  # called it).
  perf script -i "$tag.data" 2>/dev/null | awk -v classes="$tag.classes" -v functions="$tag.functions" '
    function classify(   i, owner, ours) {
      if (frames == 0) return
      owner = "other"; ours = ""
      for (i = 1; i <= frames; ++i) {
        if (frame[i] ~ /^(SSL_do_handshake|SSL_accept|ossl_statem_accept)$/) { owner = "setup"; break }
        if (frame[i] ~ /^C_[A-Za-z]+$/) { owner = "the PKCS#11 module (C_*)"; break }
        if (frame[i] ~ /^(grpc_|grpc::|grpc_core::|grpc_event_engine::)/) { owner = "gRPC"; break }
        if (ours == "" && frame[i] ~ /^(signer|keymgr|slashing|tls|base)::/) ours = frame[i]
        if (frame[i] ~ /^signer::Pipeline::SignWith$/) { owner = "our pipeline (Pipeline::SignWith)"; break }
        if (frame[i] ~ /KeystoreService::/) { owner = "our service (KeystoreService)"; break }
      }
      ++by_owner[owner]
      if (owner ~ /^our/ && ours != "") ++by_function[ours]
    }
    /^[^ \t]/ { classify(); frames = 0; next }
    /^$/ { classify(); frames = 0; next }
    {
      symbol = $0
      sub(/^[ \t]*[0-9a-f]+ /, "", symbol)
      sub(/ \([^()]*\)$/, "", symbol)
      sub(/\+0x[0-9a-f]+$/, "", symbol)
      frame[++frames] = symbol
    }
    END {
      classify()
      for (owner in by_owner) print by_owner[owner] "\t" owner >classes
      for (name in by_function) print by_function[name] "\t" name >functions
    }'
}

# Every run opens its own connections (16 TLS handshakes, thousands of mallocs each), so the count per request
# is the difference between a run of 2N requests and one of N: what one more request costs. The split applies
# the owners' shares of the larger run's sampled stacks, handshakes left out, to that count.
measure "$requests" small
measure $((requests * 2)) large
small=$(cat "$work/small.count")
large=$(cat "$work/large.count")
marginal=$(((large - small) / requests))
echo "mix $mix: $marginal mallocs in signerd per signed request ($small over $requests requests, $large over" \
  "$((requests * 2)))"
echo
echo "| system calls per signed request | |"
echo "|---|---|"
awk -F'\t' -v n="$requests" '
  NR == FNR { small[$2] = $1; next }
  {
    name = $2
    sub(/^syscalls:sys_enter_/, "", name)
    if (name == "raw_syscalls:sys_enter") name = "all"
    printf "| %s | %.2f |\n", name, ($1 - small[$2]) / n
  }' "$work/small.syscalls" "$work/large.syscalls"

# The owners' sampled stacks, handshakes left out: the denominator of every share.
sampled=$(awk -F'\t' '$2 != "setup" { sum += $1 } END { print sum + 0 }' "$work/large.classes")
split() {
  awk -F'\t' -v total="$marginal" -v sampled="$sampled" '$2 != "setup" {
    printf "%.0f\t%s\n", total * $1 / sampled, $2 }' "$work/large.$1" | sort -rn
}
echo
echo "| who allocates | mallocs per request |"
echo "|---|---|"
split classes | awk -F'\t' '{ printf "| %s | %s |\n", $2, $1 }'
echo
echo "| nearest function of ours | mallocs per request |"
echo "|---|---|"
split functions | head -n 10 | awk -F'\t' '{ printf "| `%s` | %s |\n", $2, $1 }'
