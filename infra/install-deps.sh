#!/usr/bin/env bash
# Installs the Debian packages infra/check.sh uses to check the recipes; idempotent and silent when nothing is missing.
set -euo pipefail

# systemd-analyze and systemd-sysusers (systemd), promtool (prometheus), Ansible and ansible-lint,
# PyYAML for the cross-checks, python3-apt for the role's apt task in the localhost run, HAProxy for
# `haproxy -c` on the reverse-proxy recipe, shellcheck for the scripts.
packages=(systemd prometheus ansible ansible-lint python3 python3-yaml python3-apt haproxy shellcheck)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "infra/install-deps: missing packages (${missing[*]}); run as root or install them" >&2
  exit 1
fi
echo "infra/install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The checks only run haproxy -c; a machine that boots with systemd must not start a proxy because
# of them.
if [[ " ${missing[*]} " == *" haproxy "* ]]; then
  systemctl disable haproxy >/dev/null 2>&1 || true
fi
