#!/usr/bin/env bash
# Installs Debian's chromium for the report's PNG and the browser tests (run as root).
# Idempotent: does nothing when /usr/bin/chromium is already there.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-chromium.sh: needs root (apt-get); try: sudo bash $0" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "installing chromium with apt-get ..."
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
echo "chromium installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
