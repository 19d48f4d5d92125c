#!/usr/bin/env bash
# One command for a development signer: installs deps, builds, sets up ./dev-signer and runs signerd.
#
# Usage: bash infra/dev/run.sh [--smoke] [--port N] [--dir DIR]
#   default   signerd runs in the foreground on 127.0.0.1:7443 (Ctrl-C stops it)
#   --smoke   starts signerd in the background on a free port, runs `signerctl demo` against it, stops it;
#             exit 0 only if every step worked (CI)
#   --dir     the dev signer's directory (default ./dev-signer)
set -euo pipefail

smoke=false
setup_args=()
dev_dir=
while (($#)); do
  case $1 in
    --smoke) smoke=true; shift ;;
    --port) setup_args+=(--port "$2"); shift 2 ;;
    --dir) dev_dir=$2; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

# A --dir relative to where the user stands, not to the repository this script moves into.
if [[ -n $dev_dir ]]; then
  mkdir -p "$dev_dir"
  dev_dir=$(cd "$dev_dir" && pwd)
fi
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"

bash infra/dev/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DSIGNER_WERROR=ON >/dev/null
cmake --build build -j "$(nproc)" --target signerd signerctl

dev_dir=${dev_dir:-$repo/dev-signer}
# Creates the dev signer once (token, PKI, //Alice keys, policy, config); a finished one is left as is.
build/bin/signerctl dev init --dir "$dev_dir" "${setup_args[@]}"
# SoftHSM2 finds the dev token through this file; signerd inherits it.
export SOFTHSM2_CONF=$dev_dir/softhsm2.conf

if ! $smoke; then
  echo "run.sh: starting signerd (Ctrl-C stops it); try: build/bin/signerctl demo --dev-dir $dev_dir" >&2
  exec build/bin/signerd --config "$dev_dir/signerd.yaml"
fi

# Smoke: the same dev directory, but a copy of the config listening on a free port, so a busy 7443 cannot fail CI.
work=$(mktemp -d "${TMPDIR:-/tmp}/signer-smoke.XXXXXX")
signerd_pid=
cleanup() {
  if [[ -n $signerd_pid ]] && kill -0 "$signerd_pid" 2>/dev/null; then
    kill -TERM "$signerd_pid" 2>/dev/null || true
    wait "$signerd_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

sed 's/^  listen: .*/  listen: "127.0.0.1:0"/' "$dev_dir/signerd.yaml" >"$work/signerd.yaml"
mkfifo "$work/stdout"
build/bin/signerd --config "$work/signerd.yaml" >"$work/stdout" 2>"$work/signerd.log" &
signerd_pid=$!

# signerd prints one line once it listens: "signerd listening on 127.0.0.1:PORT".
first_line=
exec 3<"$work/stdout"
if ! IFS= read -r -t 30 first_line <&3 || [[ $first_line != "signerd listening on 127.0.0.1:"* ]]; then
  echo "run.sh: signerd did not start (said: ${first_line:-nothing}); its log:" >&2
  cat "$work/signerd.log" >&2
  exit 1
fi
target=${first_line#signerd listening on }
echo "run.sh: signerd (pid $signerd_pid) listening on $target" >&2

status=0
build/bin/signerctl demo --dev-dir "$dev_dir" --target "$target" || status=$?
if ((status != 0)); then
  echo "run.sh: demo failed (exit $status); signerd's log:" >&2
  cat "$work/signerd.log" >&2
  exit 1
fi
build/bin/signerctl audit verify "$dev_dir/audit.jsonl" >/dev/null
echo "run.sh: smoke test passed" >&2
