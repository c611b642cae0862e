#!/usr/bin/env bash
# Installs Debian's bubblewrap (bwrap), the trainer's sandbox (see README, "The trainer's sandbox").
# Never fails the set-up: where it cannot install, it says why and the worker runs trainers
# unsandboxed (and warns once when it starts training).
set -uo pipefail

if command -v bwrap >/dev/null 2>&1; then
  echo "bubblewrap already installed: $(bwrap --version 2>/dev/null || command -v bwrap)"
  exit 0
fi
skip() { echo "bubblewrap not installed ($*): trainers will run without a sandbox"; exit 0; }
[ "$(uname -s)" = Linux ] || skip "not Linux"
command -v apt-get >/dev/null 2>&1 || skip "no apt-get; install your distribution's bubblewrap package"
[ "$(id -u)" -eq 0 ] || skip "needs root for apt-get; try: sudo apt-get install bubblewrap"

export DEBIAN_FRONTEND=noninteractive
echo "installing bubblewrap with apt-get ..."
if apt-get update -qq && apt-get install -y -qq --no-install-recommends bubblewrap >/dev/null; then
  echo "bubblewrap installed: $(bwrap --version 2>/dev/null || echo bwrap)"
else
  skip "apt-get failed"
fi
