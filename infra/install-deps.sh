#!/usr/bin/env bash
# Installs the Debian packages infra/check.sh uses to check the recipes; idempotent and silent when nothing is missing.
set -euo pipefail

# shellcheck source=SCRIPTDIR/dev/deb-packages.sh
source "$(dirname "${BASH_SOURCE[0]}")/dev/deb-packages.sh"

# systemd-analyze and systemd-sysusers (systemd), promtool (prometheus), Ansible and ansible-lint,
# PyYAML for the cross-checks, python3-apt for the role's apt task in the localhost run, HAProxy for
# `haproxy -c` on the reverse-proxy recipe, shellcheck for the scripts, Node.js for the Kubernetes and
# Terraform checks (their npm packages come from `npm ci`), cloud-init for `cloud-init schema`.
packages=(systemd prometheus ansible ansible-lint python3 python3-yaml python3-apt haproxy shellcheck nodejs
  cloud-init)

mapfile -t missing < <(missing_packages "${packages[@]}")
# Some machines carry a Node.js build that bundles npm; Debian's own nodejs needs the separate npm package.
if ! command -v npm >/dev/null 2>&1; then
  missing+=(npm)
fi
# `kubectl kustomize` renders the Kubernetes recipe. Debian 12 ships kubectl 1.20 (kustomize v2.0.3) as
# kubernetes-client, which the recipe is written to render with; a machine that has a newer kubectl from
# another package keeps it (the two would claim the same /usr/bin/kubectl).
if ! command -v kubectl >/dev/null 2>&1; then
  missing+=(kubernetes-client)
fi
if ((${#missing[@]} == 0)); then
  exit 0
fi
install_packages infra/install-deps "${missing[@]}"
# The checks only run haproxy -c; a machine that boots with systemd must not start a proxy because
# of them.
if [[ " ${missing[*]} " == *" haproxy "* ]]; then
  systemctl disable haproxy >/dev/null 2>&1 || true
fi
# The checks only run `cloud-init schema`; cloud-init must not configure this machine at its next boot
# (cloud-init's documented switch: this file disables it).
if [[ " ${missing[*]} " == *" cloud-init "* ]]; then
  touch /etc/cloud/cloud-init.disabled
fi
