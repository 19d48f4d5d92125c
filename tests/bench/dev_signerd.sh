# Shell functions the benchmark scripts share to run a development signerd beside their clients.
# Sourced, never run. Development only: the dev signer's //Alice keys and genesis hash are public.
# shellcheck shell=bash

# dev_signerd_init SIGNERCTL DIR makes a development signer in DIR with `signerctl dev init`:
# //Alice's keys on a SoftHSM2 token of its own, a dev PKI in DIR/pki, and DIR/signerd.yaml, which
# listens on 127.0.0.1 at a port the system picks, so a benchmark never meets a signer already on
# the dev port.
dev_signerd_init() {
  local signerctl=$1 dir=$2
  "$signerctl" dev init --dir "$dir" --port 0 >/dev/null
}

# dev_signerd_set_server CONFIG WORKERS IN_FLIGHT sets server.worker_threads and server.max_in_flight
# in a dev signer's CONFIG; 0 keeps the dev config's value. Benchmarks use 64 and 1,024: workers block
# in the fsync waits, so the dev config's 2 and 64 would cap the commit groups at 2 callers.
dev_signerd_set_server() {
  local config=$1 workers=$2 in_flight=$3
  if [[ $workers != 0 ]]; then
    sed -i "s/^  worker_threads: .*/  worker_threads: $workers/" "$config"
  fi
  if [[ $in_flight != 0 ]]; then
    sed -i "s/^  max_in_flight: .*/  max_in_flight: $in_flight/" "$config"
  fi
}

# dev_signerd_start SIGNERD DIR starts SIGNERD in the background on DIR/signerd.yaml and DIR's token,
# its stderr in DIR/signerd.log, and waits up to 60 s for the line it prints once it listens. It
# sets signerd_pid as soon as signerd runs, so that the caller's exit trap (dev_signerd_stop) stops
# it whatever happens next, and signerd_address (127.0.0.1:PORT) once it listens. signerd's stdout
# is a fifo this shell keeps open, so signerd never writes into a closed pipe. Returns 1, with what
# signerd said and its log on stderr, if it does not start.
dev_signerd_start() {
  local signerd=$1 dir=$2 first_line=
  mkfifo "$dir/signerd.out"
  SOFTHSM2_CONF=$dir/softhsm2.conf "$signerd" --config "$dir/signerd.yaml" \
    >"$dir/signerd.out" 2>"$dir/signerd.log" &
  signerd_pid=$!
  exec {signerd_stdout}<"$dir/signerd.out"
  if ! IFS= read -r -t 60 first_line <&"$signerd_stdout" ||
    [[ $first_line != "signerd listening on 127.0.0.1:"* ]]; then
    echo "$(basename "$0"): signerd did not start (said: ${first_line:-nothing}); its log:" >&2
    cat "$dir/signerd.log" >&2
    return 1
  fi
  # shellcheck disable=SC2034  # read by the scripts that source this file
  signerd_address=${first_line#signerd listening on }
}

# dev_signerd_stop stops the signerd dev_signerd_start started, if it still runs (SIGTERM, then waits
# for it), and clears signerd_pid. Never fails, so exit traps can call it.
dev_signerd_stop() {
  if [[ -n ${signerd_pid:-} ]] && kill -0 "$signerd_pid" 2>/dev/null; then
    kill -TERM "$signerd_pid" 2>/dev/null || true
    wait "$signerd_pid" 2>/dev/null || true
  fi
  signerd_pid=
}

# dev_require_perf exits with a message naming Debian's package unless perf is installed, for the scripts that
# profile or count a dev signerd with it.
dev_require_perf() {
  if ! command -v perf >/dev/null; then
    echo "$(basename "$0"): perf not found (apt-get install linux-perf)" >&2
    exit 1
  fi
}
