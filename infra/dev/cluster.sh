#!/usr/bin/env bash
# A replicated development cluster in one command: kafka-dev-broker and N signerd sharing one dev PKI.
#
# Usage: infra/dev/cluster.sh up [N] [--base-port P]   start a broker and N signers (default 3, ports P.. = 7451..;
#                                                     P = 0: free ports)
#        infra/dev/cluster.sh status                   show what runs and where
#        infra/dev/cluster.sh broker down|up ID|all    take dev brokers down or up (fault drills)
#        infra/dev/cluster.sh down [--keep]            stop everything and delete ./dev-cluster (--keep: keep it)
#   DEVELOPMENT ONLY: public //Alice keys, a dev PKI, random throwaway PINs, and librdkafka's in-memory mock
#   broker, which forgets every topic when it stops (hence `down` deletes the signers' histories too).
#   Needs build/ with signerd, signerctl and kafka-dev-broker (built here if missing). State: ./dev-cluster/.
#   Each signer gets server.worker_threads $SIGNER_CLUSTER_WORKERS (default 4) and server.max_in_flight
#   $SIGNER_CLUSTER_IN_FLIGHT (default 256); benchmarks raise them.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
state=${SIGNER_CLUSTER_DIR:-$repo/dev-cluster}
build=${SIGNER_BUILD_DIR:-$repo/build}
signerd=${SIGNERD:-$build/bin/signerd}
signerctl=${SIGNERCTL:-$build/bin/signerctl}
broker_bin=${KAFKA_DEV_BROKER:-$build/kafka/kafka-dev-broker}

die() { echo "cluster.sh: $*" >&2; exit 1; }
usage() { sed -n '4,13p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

# alive PIDFILE NAME: the recorded process still runs and is the program we started (pids get reused).
alive() {
  [[ -f $1 ]] || return 1
  local pid
  pid=$(cat "$1")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2"
}

# wait_for_line FILE PREFIX SECONDS: prints the first line of FILE once it starts with PREFIX.
wait_for_line() {
  local file=$1 prefix=$2 seconds=$3 line i
  for ((i = 0; i < seconds * 10; i++)); do
    if [[ -s $file ]]; then
      IFS= read -r line <"$file" || true
      if [[ $line == "$prefix"* ]]; then
        printf '%s\n' "$line"
        return 0
      fi
    fi
    sleep 0.1
  done
  return 1
}

key_pairs() {  # the (key type, public key) pairs of a token, one per line, sorted
  "$signerctl" keys list --config "$1" |
    grep -o '"key_type":"[^"]*","scheme":"[^"]*","public_key":"[^"]*"' | sort
}

cmd_up() {
  local count=3 base_port=7451
  while (($#)); do
    case $1 in
      --base-port) base_port=$2; shift 2 ;;
      --base-port=*) base_port=${1#--base-port=}; shift ;;
      [0-9]*) count=$1; shift ;;
      *) usage ;;
    esac
  done
  [[ $count =~ ^[0-9]+$ ]] && ((count >= 1 && count <= 9)) || die "N must be 1 to 9"
  # --base-port 0: every signer picks a free port (printed below), for scripts that run beside other work.
  [[ $base_port =~ ^[0-9]+$ ]] && ((base_port == 0 || (base_port >= 1024 && base_port + count <= 65535))) ||
    die "bad --base-port $base_port"
  if [[ -e $state ]]; then
    die "$state exists; run \`infra/dev/cluster.sh down\` first (the mock broker keeps nothing across runs)"
  fi
  if [[ ! -x $signerd || ! -x $signerctl || ! -x $broker_bin ]]; then
    echo "cluster.sh: building signerd, signerctl and kafka-dev-broker in $build" >&2
    [[ -f $build/build.ninja || -f $build/Makefile ]] ||
      cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSIGNER_WERROR=ON >/dev/null
    cmake --build "$build" --target signerd signerctl kafka-dev-broker
  fi

  umask 077
  mkdir -p "$state"
  # signer-1 is an ordinary dev signer; the others copy its keys onto tokens of their own.
  local first=$state/signer-1
  SIGNERCTL=$signerctl bash "$repo/infra/dev/dev-setup.sh" --port "$base_port" "$first" >/dev/null
  local module
  module=$(sed -n 's/^  module: //p' "$first/signerd.yaml")
  local expected_keys
  expected_keys=$(SOFTHSM2_CONF=$first/softhsm2.conf key_pairs "$first/signerd.yaml")

  # sr25519 secrets travel by an encrypted backup; ed25519 (gran) and ecdsa (beef) keys are HSM-native and can
  # never leave a token, so every token imports them from the same //Alice SURI (docs/keys.md).
  head -c 32 /dev/urandom | base64 | tr -d '\n' >"$state/backup.passphrase"
  SOFTHSM2_CONF=$first/softhsm2.conf "$signerctl" keys backup --config "$first/signerd.yaml" \
    --out "$state/keys.backup" --passphrase-file "$state/backup.passphrase" >/dev/null

  local i dir
  for ((i = 1; i <= count; i++)); do
    dir=$state/signer-$i
    if ((i > 1)); then
      mkdir -p "$dir/tokens"
      printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$dir/tokens" \
        >"$dir/softhsm2.conf"
      head -c 18 /dev/urandom | base64 | tr -d '\n/+=' >"$dir/hsm.pin"
      head -c 18 /dev/urandom | base64 | tr -d '\n/+=' >"$dir/hsm-so.pin"
      SOFTHSM2_CONF=$dir/softhsm2.conf softhsm2-util --init-token --free --label dev-signer \
        --pin "$(cat "$dir/hsm.pin")" --so-pin "$(cat "$dir/hsm-so.pin")" >/dev/null
    fi
    # Every signer: one PKI and policy (signer-1's), its own token, history, audit log, id and port.
    cat >"$dir/signerd.yaml" <<EOF
# Replicated development signer $i of $count (infra/dev/cluster.sh). Not for production: //Alice keys,
# dev PKI, dev genesis hash, and kafka-dev-broker, an in-memory mock of Kafka for development and tests.
signer_id: signer-$i
hsm:
  module: $module
  token_label: dev-signer
  pin_file: $dir/hsm.pin
history:
  data_dir: $dir/history
  genesis_hash: "0xdede000000000000000000000000000000000000000000000000000000000001"
server:
  listen: "127.0.0.1:$((base_port == 0 ? 0 : base_port + i - 1))"
  tls:
    cert_file: $first/pki/server.crt
    key_file: $first/pki/server.key
    client_ca_file: $first/pki/ca.crt
  policy_file: $first/policy.yaml
  audit_log: $dir/audit.jsonl
  max_in_flight: ${SIGNER_CLUSTER_IN_FLIGHT:-256}
  worker_threads: ${SIGNER_CLUSTER_WORKERS:-4}
EOF
    if ((i > 1)); then
      SOFTHSM2_CONF=$dir/softhsm2.conf "$signerctl" keys restore --config "$dir/signerd.yaml" \
        --in "$state/keys.backup" --passphrase-file "$state/backup.passphrase" >/dev/null
      for key_type in gran beef; do
        SOFTHSM2_CONF=$dir/softhsm2.conf SIGNER_SURI=//Alice "$signerctl" keys import \
          --config "$dir/signerd.yaml" --type "$key_type" >/dev/null
      done
      if [[ $(SOFTHSM2_CONF=$dir/softhsm2.conf key_pairs "$dir/signerd.yaml") != "$expected_keys" ]]; then
        die "signer-$i's token does not hold the same keys as signer-1's"
      fi
    fi
  done
  rm -f "$state/keys.backup" "$state/backup.passphrase"

  # The broker reads fault commands from a FIFO it holds open for reading and writing, so it never sees EOF.
  mkfifo "$state/broker.in"
  nohup "$broker_bin" <>"$state/broker.in" >"$state/broker.out" 2>"$state/broker.log" &
  echo $! >"$state/broker.pid"
  local first_line bootstrap
  first_line=$(wait_for_line "$state/broker.out" "kafka-dev-broker bootstrap=" 30) ||
    die "kafka-dev-broker did not start; see $state/broker.log"
  bootstrap=${first_line#kafka-dev-broker bootstrap=}
  bootstrap=${bootstrap%% *}
  echo "$bootstrap" >"$state/bootstrap"

  for ((i = 1; i <= count; i++)); do
    dir=$state/signer-$i
    printf 'kafka:\n  brokers: "%s"\n' "$bootstrap" >>"$dir/signerd.yaml"
    SOFTHSM2_CONF=$dir/softhsm2.conf nohup "$signerd" --config "$dir/signerd.yaml" \
      >"$dir/signerd.out" 2>"$dir/signerd.log" </dev/null &
    echo $! >"$dir/signerd.pid"
  done
  # signerd prints its listening line once its history has caught up with the claims topic.
  for ((i = 1; i <= count; i++)); do
    dir=$state/signer-$i
    if ! wait_for_line "$dir/signerd.out" "signerd listening on " 90 >/dev/null; then
      echo "cluster.sh: signer-$i did not start; its log:" >&2
      tail -n 20 "$dir/signerd.log" >&2
      die "stop the rest with: infra/dev/cluster.sh down"
    fi
  done
  echo "$count" >"$state/count"

  echo "cluster.sh: replicated DEVELOPMENT cluster up in $state (development and test only)"
  echo "  kafka-dev-broker  bootstrap $bootstrap (librdkafka mock cluster, in memory; pid $(cat "$state/broker.pid"))"
  for ((i = 1; i <= count; i++)); do
    dir=$state/signer-$i
    echo "  signer-$i          $(sed 's/^signerd listening on //' "$dir/signerd.out" | head -n 1)" \
      "(pid $(cat "$dir/signerd.pid"), config $dir/signerd.yaml, log $dir/signerd.log)"
  done
  echo "  client            $first/pki/ca.crt, validator-alice.crt/.key (//Alice keys; see dev-signer docs)"
  echo "  audit stream      $signerctl audit tail --brokers $bootstrap --from-beginning"
  echo "  fault drill       infra/dev/cluster.sh broker down all   (then: broker up all)"
  echo "  stop              infra/dev/cluster.sh down"
}

cmd_status() {
  [[ -d $state ]] || { echo "cluster.sh: no cluster (no $state)"; return 0; }
  local count up=0 total=1
  count=$(cat "$state/count" 2>/dev/null || ls -d "$state"/signer-* | wc -l)
  if alive "$state/broker.pid" kafka-dev-broker; then
    echo "kafka-dev-broker  running  bootstrap $(cat "$state/bootstrap" 2>/dev/null) (pid $(cat "$state/broker.pid"))"
    ((up += 1))
  else
    echo "kafka-dev-broker  stopped"
  fi
  local i dir
  for ((i = 1; i <= count; i++)); do
    dir=$state/signer-$i
    ((total += 1))
    if alive "$dir/signerd.pid" signerd; then
      echo "signer-$i          running  $(sed 's/^signerd listening on //' "$dir/signerd.out" | head -n 1) (pid $(cat "$dir/signerd.pid"))"
      ((up += 1))
    else
      echo "signer-$i          stopped  (log: $dir/signerd.log)"
    fi
  done
  echo "$up of $total processes running"
}

cmd_broker() {
  (($# == 2)) && [[ $1 == up || $1 == down ]] || usage
  alive "$state/broker.pid" kafka-dev-broker || die "kafka-dev-broker is not running"
  local before answer i
  before=$(wc -l <"$state/broker.out")
  echo "$1 $2" >"$state/broker.in"
  for ((i = 0; i < 50; i++)); do
    if (($(wc -l <"$state/broker.out") > before)); then
      answer=$(sed -n "$((before + 1))p" "$state/broker.out")
      echo "$answer"
      [[ $answer == ok* ]] && return 0
      return 1
    fi
    sleep 0.1
  done
  die "kafka-dev-broker did not answer"
}

# stop PIDFILE NAME: SIGTERM, up to 10 s, then SIGKILL; only the process we started.
stop() {
  alive "$1" "$2" || return 0
  local pid i
  pid=$(cat "$1")
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  echo "cluster.sh: $2 (pid $pid) ignored SIGTERM; killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

cmd_down() {
  local keep=false
  [[ ${1:-} == --keep ]] && keep=true
  [[ -d $state ]] || { echo "cluster.sh: no cluster (no $state)"; return 0; }
  local dir
  for dir in "$state"/signer-*; do
    stop "$dir/signerd.pid" signerd
  done
  stop "$state/broker.pid" kafka-dev-broker
  if $keep; then
    echo "cluster.sh: stopped; state kept in $state (delete it before the next \`up\`)"
  else
    rm -rf "$state"
    echo "cluster.sh: stopped and removed $state"
  fi
}

(($#)) || usage
command=$1
shift
case $command in
  up) cmd_up "$@" ;;
  status) cmd_status ;;
  down) cmd_down "$@" ;;
  broker) cmd_broker "$@" ;;
  -h|--help|help) usage ;;
  *) usage ;;
esac
