#!/usr/bin/env bash
# Creates a complete development signer in DIR through `signerctl dev init` (kept for scripts that call it).
#
# Usage: infra/dev/dev-setup.sh [--port N] DIR
#   Needs build/bin/signerctl (or SIGNERCTL=path); SIGNER_DEV_PORT sets the default port (7443). A finished
#   setup is left as is; any other non-empty DIR is refused. Prints signerctl's JSON description on stdout.
#   Every value made here is for development only: the //Alice keys and the genesis hash are public.
set -euo pipefail

port=${SIGNER_DEV_PORT:-7443}
dir=
while (($#)); do
  case $1 in
    --port) port=$2; shift 2 ;;
    --port=*) port=${1#--port=}; shift ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    -*) echo "dev-setup: unknown option $1" >&2; exit 2 ;;
    *) dir=$1; shift ;;
  esac
done
if [[ -z $dir ]]; then
  echo "usage: dev-setup.sh [--port N] DIR" >&2
  exit 2
fi

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
signerctl=${SIGNERCTL:-$repo/build/bin/signerctl}
if [[ ! -x $signerctl ]]; then
  echo "dev-setup: $signerctl not found; build the signerctl target first" >&2
  exit 1
fi
exec "$signerctl" dev init --dir "$dir" --port "$port"
