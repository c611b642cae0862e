#!/usr/bin/env bash
# Installs everything the project needs, each step skipped when already done:
# npm packages, bubblewrap (the trainer's sandbox: Debian's package, as root; never fatal), the
# Temporal CLI (built with `go install` when not on PATH), uv, the trainer's Python environment
# (PyTorch; trainer/.venv, for its tests) and the worker-owned copy every sandboxed trainer runs in.
# Slow downloads and builds are cached in $AUTORESEARCH_CACHE_HOME (default ~/.cache/autoresearch),
# outside the clone, so a second set-up takes seconds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh
step() { printf '\033[1m== %s\033[0m\n' "$*"; }

need() { command -v "$1" >/dev/null 2>&1 || { echo "setup: '$1' is required but not on PATH ($2)" >&2; exit 1; }; }
need node "Node.js >= 20"
need git "git"
need python3 "Python >= 3.11"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' || { echo "setup: Node.js >= 20 required (found $(node --version))" >&2; exit 1; }

step "npm packages"
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  # Not `npm ci`: the registry here serves only this platform's optional binaries (e.g. @swc/core-*),
  # so the lock file lacks the others and `npm ci` refuses it. `npm install --no-save` installs
  # exactly the locked versions and leaves package-lock.json as committed.
  npm install --no-save --no-audit --no-fund --loglevel=error
else
  echo "up to date"
fi

step "bubblewrap (the trainer's sandbox)"
bash scripts/install-debian-package.sh --optional "trainers will run without a sandbox (see README)" bwrap bubblewrap

step "Temporal CLI"
bash temporal/install.sh

step "uv"
if ! command -v uv >/dev/null 2>&1; then
  python3 -m venv "$AUTORESEARCH_CACHE_HOME/uv-venv"
  "$AUTORESEARCH_CACHE_HOME/uv-venv/bin/pip" install --quiet --disable-pip-version-check uv
  mkdir -p "$AUTORESEARCH_CACHE_HOME/bin"
  ln -sf "$AUTORESEARCH_CACHE_HOME/uv-venv/bin/uv" "$AUTORESEARCH_CACHE_HOME/bin/uv"
fi
uv --version

step "trainer environment (PyTorch; the first time downloads a few GB into the uv cache)"
(cd trainer && uv sync --frozen --group dev --quiet)
echo "ok: $(cd trainer && uv run --frozen python -c 'import torch; print("torch", torch.__version__)')"

step "the trainers' environment (built and owned by the worker, read-only in every sandbox)"
npx tsx scripts/trainer-env.ts

step "the trainer's data (the offline default; prepared once, so no trainer ever writes the data it is scored on)"
bash scripts/prepare-data.sh
