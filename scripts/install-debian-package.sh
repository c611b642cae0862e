#!/usr/bin/env bash
# Installs a Debian package with apt-get (as root) unless its command is already on PATH.
# Usage: bash scripts/install-debian-package.sh [--optional "what happens without it"] <command> <package>...
# Required (the default): a failure to install is an error. Optional: it says why it skipped and
# what that means, and exits 0.
set -uo pipefail

optional=""
if [[ "${1:-}" == --optional ]]; then optional="$2"; shift 2; fi
command="$1"; shift
packages=("$@")

if command -v "$command" >/dev/null 2>&1; then
  echo "$command: already installed"
  exit 0
fi
skip() {
  if [[ -n "$optional" ]]; then echo "${packages[0]} not installed ($*): $optional"; exit 0; fi
  echo "install-debian-package.sh: cannot install ${packages[*]} ($*); install it and run again" >&2
  exit 1
}
[[ "$(uname -s)" == Linux ]] || skip "not Linux"
command -v apt-get >/dev/null 2>&1 || skip "no apt-get; install your distribution's package"
[[ "$(id -u)" -eq 0 ]] || skip "apt-get needs root; try: sudo apt-get install ${packages[*]}"

export DEBIAN_FRONTEND=noninteractive
echo "installing ${packages[*]} with apt-get ..."
# Without an update first when the package lists already know the package: seconds instead of a minute.
if apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null 2>&1 \
  || { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null; }; then
  echo "${packages[*]} installed"
else
  skip "apt-get failed"
fi
