#!/usr/bin/env bash
# A threshold development setup in one command: a signerd coordinator and three key agents holding //Alice's
# gran (ed25519) and para (sr25519) keys as 2-of-3 FROST shares. The agents know each other as peers, so
# `signerctl threshold create` can also generate new keys among them (distributed key generation).
#
# Usage: infra/dev/threshold.sh up [--base-port P] [--smoke]   coordinator on P (default 7460), agents on P+1..P+3
#                                                              (P = 0: free ports); --smoke runs `signerctl demo`
#                                                              against the coordinator, generates a 2-of-3 imon
#                                                              key by DKG, then stops everything;
#             [--workers N] [--in-flight N]                    the coordinator's worker_threads / max_in_flight
#        infra/dev/threshold.sh status                         show what runs and where
#        infra/dev/threshold.sh agent down|up N                stop or start agent N (1-3), to watch t-of-n at work
#        infra/dev/threshold.sh down [--keep]                  stop everything and delete ./dev-threshold
#   DEVELOPMENT ONLY: public //Alice keys split by a dealer on this machine, dev PKIs, random throwaway PINs.
#   Needs build/ with signerd, signerctl and keyagentd (built here if missing). State: ./dev-threshold/.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
state=${SIGNER_THRESHOLD_DIR:-$repo/dev-threshold}
build=${SIGNER_BUILD_DIR:-$repo/build}
signerd=$build/bin/signerd
signerctl=$build/bin/signerctl
keyagentd=$build/bin/keyagentd
agents=3
threshold=2

die() { echo "threshold.sh: $*" >&2; exit 1; }
usage() { sed -n '6,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

# running PIDFILE: the recorded process still runs and is one of ours (pids get reused).
running() {
  [[ -f $1 ]] || return 1
  local pid
  pid=$(<"$1")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$state"
}

# start NAME PROGRAM CONFIG DIR: starts PROGRAM --config CONFIG in the background (stdout DIR/NAME.out,
# stderr DIR/NAME.log) and waits up to 60 s for its listening line; prints HOST:PORT.
start() {
  local name=$1 program=$2 config=$3 dir=$4 line i pid
  : >"$dir/$name.out"
  SOFTHSM2_CONF=$dir/softhsm2.conf setsid "$program" --config "$config" >"$dir/$name.out" 2>>"$dir/$name.log" \
    </dev/null &
  pid=$!
  echo "$pid" >"$dir/$name.pid"
  for ((i = 0; i < 600; i++)); do
    if [[ -s $dir/$name.out ]] && IFS= read -r line <"$dir/$name.out" && [[ $line == *" listening on "* ]]; then
      echo "${line##* listening on }"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "threshold.sh: $name did not start; its log:" >&2
  tail -n 20 "$dir/$name.log" >&2
  return 1
}

stop() {  # stop PIDFILE
  running "$1" || { rm -f "$1"; return 0; }
  local pid i
  pid=$(<"$1")
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$1"
}

random_pin() { head -c 18 /dev/urandom | base64 | tr -d '\n/+='; }

cmd_up() {
  local base_port=7460 smoke=false workers=0 in_flight=0
  while (($#)); do
    case $1 in
      --workers) workers=$2; shift 2 ;;
      --in-flight) in_flight=$2; shift 2 ;;
      --base-port) base_port=$2; shift 2 ;;
      --base-port=*) base_port=${1#--base-port=}; shift ;;
      --smoke) smoke=true; shift ;;
      *) usage ;;
    esac
  done
  if ! [[ $base_port =~ ^[0-9]+$ ]] || ! ((base_port == 0 || (base_port >= 1024 && base_port + agents <= 65535)))
  then
    die "bad --base-port $base_port"
  fi
  [[ -e $state ]] && die "$state exists; run \`infra/dev/threshold.sh down\` first"
  if [[ ! -x $signerd || ! -x $signerctl || ! -x $keyagentd ]]; then
    echo "threshold.sh: building signerd, signerctl and keyagentd in $build" >&2
    [[ -f $build/build.ninja || -f $build/Makefile ]] ||
      cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSIGNER_WERROR=ON >/dev/null
    cmake --build "$build" --target signerd signerctl keyagentd
  fi
  umask 077
  mkdir -p "$state"
  if $smoke; then trap 'cmd_down' EXIT; fi

  # The coordinator is an ordinary dev signer (PKI for the node, policy, //Alice keys on its token) ...
  local coordinator=$state/coordinator
  "$signerctl" dev init --dir "$coordinator" --port "$base_port" >/dev/null
  local module
  module=$(sed -n 's/^  module: //p' "$coordinator/signerd.yaml")
  if ((workers > 0)); then sed -i "s/^  worker_threads: .*/  worker_threads: $workers/" "$coordinator/signerd.yaml"; fi
  if ((in_flight > 0)); then sed -i "s/^  max_in_flight: .*/  max_in_flight: $in_flight/" "$coordinator/signerd.yaml"; fi
  # ... whose gran and para keys are held by the agents instead: no whole copy of either stays on it.
  local key_type public
  for key_type in gran para; do
    public=$(SOFTHSM2_CONF=$coordinator/softhsm2.conf "$signerctl" keys list --config "$coordinator/signerd.yaml" |
      grep -o "\"key_type\":\"$key_type\",\"scheme\":\"[^\"]*\",\"public_key\":\"[^\"]*\"" |
      sed 's/.*"public_key":"//; s/"$//')
    SOFTHSM2_CONF=$coordinator/softhsm2.conf "$signerctl" keys delete --config "$coordinator/signerd.yaml" \
      --type "$key_type" --public "$public" --force >/dev/null
  done
  # The agents' tier has a PKI of its own: one server certificate for the agents, the coordinator's client
  # identity, and one client identity per agent (its signer_id), with which it delivers DKG shares to its peers.
  local i clients=coordinator
  for ((i = 1; i <= agents; i++)); do clients+=",agent-$i"; done
  "$signerctl" tls init-dev --dir "$state/agent-pki" --clients "$clients" >/dev/null
  {
    cat <<EOF
# Key agents serve the coordinator: it may ask for shares, import split keys and run DKG. Each agent may
# deliver DKG shares to the others (generate).
identities:
  coordinator:
    - key_types: [gran, para]
      operations: [sign, insert, list]
      public_keys:
        - "0x88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee"
        - "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"
    - key_types: [gran, para, audi, imon]
      operations: [generate, list]
EOF
    for ((i = 1; i <= agents; i++)); do
      printf '  agent-%d:\n    - key_types: [gran, para, audi, imon]\n      operations: [generate]\n' "$i"
    done
  } >"$state/agent-policy.yaml"
  local dir address agents_yaml="" addresses=()
  for ((i = 1; i <= agents; i++)); do
    dir=$state/agent-$i
    mkdir -p "$dir/tokens"
    printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$dir/tokens" \
      >"$dir/softhsm2.conf"
    random_pin >"$dir/hsm.pin"
    SOFTHSM2_CONF=$dir/softhsm2.conf softhsm2-util --init-token --free --label "agent-$i" \
      --pin "$(<"$dir/hsm.pin")" --so-pin "$(random_pin)" >/dev/null
    cat >"$dir/agent.yaml" <<EOF
# Development key agent $i of $agents (infra/dev/threshold.sh): its own token, history and audit log.
signer_id: agent-$i
hsm:
  module: $module
  token_label: agent-$i
  pin_file: $dir/hsm.pin
history:
  data_dir: $dir/history
  genesis_hash: "0xdede000000000000000000000000000000000000000000000000000000000001"
server:
  listen: "127.0.0.1:$((base_port == 0 ? 0 : base_port + i))"
  tls:
    cert_file: $state/agent-pki/server.crt
    key_file: $state/agent-pki/server.key
    client_ca_file: $state/agent-pki/ca.crt
  policy_file: $state/agent-policy.yaml
  audit_log: $dir/audit.jsonl
EOF
    address=$(start keyagentd "$keyagentd" "$dir/agent.yaml" "$dir")
    # A restart keeps the port the coordinator and the peers were told.
    sed -i "s/^  listen: .*/  listen: \"$address\"/" "$dir/agent.yaml"
    agents_yaml+="    - {name: agent-$i, address: \"$address\"}"$'\n'
    addresses+=("$address")
  done
  # Each agent's DKG peers are the other agents, whose ports are known only now: each agent is restarted
  # with a threshold section naming them, and its own client certificate to call them with.
  local j
  for ((i = 1; i <= agents; i++)); do
    dir=$state/agent-$i
    {
      echo "# Agent $i's DKG peers: the other agents; it calls them as agent-$i."
      echo "threshold:"
      echo "  cert_file: $state/agent-pki/agent-$i.crt"
      echo "  key_file: $state/agent-pki/agent-$i.key"
      echo "  agent_ca_file: $state/agent-pki/ca.crt"
      echo "  agents:"
      for ((j = 1; j <= agents; j++)); do
        ((j == i)) || echo "    - {name: agent-$j, address: \"${addresses[j - 1]}\"}"
      done
    } >>"$dir/agent.yaml"
    stop "$dir/keyagentd.pid"
    start keyagentd "$keyagentd" "$dir/agent.yaml" "$dir" >/dev/null
  done
  cat >>"$coordinator/signerd.yaml" <<EOF
# Threshold coordinator (infra/dev/threshold.sh): gran and para sign through the key agents.
threshold:
  cert_file: $state/agent-pki/coordinator.crt
  key_file: $state/agent-pki/coordinator.key
  agent_ca_file: $state/agent-pki/ca.crt
  agents:
$agents_yaml
EOF
  for key_type in gran para; do
    SIGNER_SURI=//Alice "$signerctl" threshold split --config "$coordinator/signerd.yaml" --type "$key_type" \
      --threshold "$threshold" >"$state/split-$key_type.json"
  done
  address=$(start signerd "$signerd" "$coordinator/signerd.yaml" "$coordinator")
  echo "threshold.sh: coordinator on $address, agents: $(grep -o '"127[^"]*"' <<<"$agents_yaml" | tr '\n' ' ')" >&2
  echo "threshold.sh: $(grep -o '"threshold":"[^"]*"' "$state/split-gran.json") for gran and para" >&2
  if $smoke; then
    "$signerctl" demo --dev-dir "$coordinator" --target "$address"
    # A key no machine ever held whole: generated among the agents, listed by all three as generated.
    "$signerctl" threshold create --config "$coordinator/signerd.yaml" --type imon --threshold "$threshold" \
      >"$state/create-imon.json"
    local generated listed
    generated=$(grep -o '"public_key":"0x[0-9a-f]*"' "$state/create-imon.json")
    listed=$("$signerctl" threshold list --config "$coordinator/signerd.yaml")
    grep -q "\"key_type\":\"imon\",$generated" <<<"$listed" || die "the generated imon key is not listed: $listed"
    (($(grep -o '"generated":true' <<<"$listed" | wc -l) == agents)) ||
      die "not every agent lists the imon key as generated: $listed"
    generated=${generated#*:}
    echo "threshold.sh: imon key generated by DKG among the agents: ${generated//\"/}" >&2
    echo "threshold.sh: smoke run passed" >&2
  else
    echo "threshold.sh: try \`$signerctl demo --dev-dir $coordinator --target $address\`," \
      "then \`infra/dev/threshold.sh agent down 1\` and the demo again;" \
      "\`$signerctl threshold create --config $coordinator/signerd.yaml --type imon --threshold 2\`" \
      "generates a key among the agents" >&2
  fi
}

cmd_status() {
  [[ -d $state ]] || { echo "threshold.sh: nothing set up"; return 0; }
  local name
  for name in coordinator/signerd agent-1/keyagentd agent-2/keyagentd agent-3/keyagentd; do
    if running "$state/$name.pid"; then
      echo "${name%%/*}: running on $(sed 's/.* listening on //' "$state/$name.out")"
    else
      echo "${name%%/*}: stopped"
    fi
  done
}

cmd_agent() {
  local action=${1:-} n=${2:-}
  [[ $n =~ ^[1-3]$ ]] || usage
  local dir=$state/agent-$n
  case $action in
    down) stop "$dir/keyagentd.pid" ;;
    up) running "$dir/keyagentd.pid" || start keyagentd "$keyagentd" "$dir/agent.yaml" "$dir" >/dev/null ;;
    *) usage ;;
  esac
}

cmd_down() {
  local keep=false
  [[ ${1:-} == --keep ]] && keep=true
  [[ -d $state ]] || return 0
  stop "$state/coordinator/signerd.pid"
  local i
  for ((i = 1; i <= agents; i++)); do stop "$state/agent-$i/keyagentd.pid"; done
  $keep || rm -rf "$state"
}

case ${1:-} in
  up) shift; cmd_up "$@" ;;
  status) cmd_status ;;
  agent) shift; cmd_agent "$@" ;;
  down) shift; cmd_down "$@" ;;
  *) usage ;;
esac
