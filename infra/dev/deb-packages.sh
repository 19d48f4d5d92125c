# Shell functions that find and install missing Debian packages, for the install-deps scripts.
# Sourced, never run: infra/dev/install-deps.sh (the build and tests) and infra/install-deps.sh (the
# recipe checks) each keep their own list.
# shellcheck shell=bash

# missing_packages PACKAGE... prints, one a line, each PACKAGE that dpkg does not list as installed.
missing_packages() {
  local package
  for package in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
      printf '%s\n' "$package"
    fi
  done
}

# install_packages WHO PACKAGE... installs the PACKAGEs with apt-get, quietly; WHO names the calling
# script in what it prints. Without root it installs nothing: it names the missing packages and
# returns 1.
install_packages() {
  local who=$1
  shift
  if [[ $(id -u) -ne 0 ]]; then
    echo "$who: missing packages ($*); run as root or install them" >&2
    return 1
  fi
  echo "$who: installing $*" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
