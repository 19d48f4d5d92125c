#!/usr/bin/env bash
# Installs the Debian packages infra/check.sh uses to check the recipes; idempotent and silent when nothing is missing.
set -euo pipefail

# shellcheck source=SCRIPTDIR/dev/deb-packages.sh
source "$(dirname "${BASH_SOURCE[0]}")/dev/deb-packages.sh"

# systemd-analyze and systemd-sysusers (systemd), promtool (prometheus), Ansible and ansible-lint,
# PyYAML for the cross-checks, python3-apt for the role's apt task in the localhost run, HAProxy for
# `haproxy -c` on the reverse-proxy recipe, shellcheck for the scripts.
packages=(systemd prometheus ansible ansible-lint python3 python3-yaml python3-apt haproxy shellcheck)

mapfile -t missing < <(missing_packages "${packages[@]}")
if ((${#missing[@]} == 0)); then
  exit 0
fi
install_packages infra/install-deps "${missing[@]}"
# The checks only run haproxy -c; a machine that boots with systemd must not start a proxy because
# of them.
if [[ " ${missing[*]} " == *" haproxy "* ]]; then
  systemctl disable haproxy >/dev/null 2>&1 || true
fi
