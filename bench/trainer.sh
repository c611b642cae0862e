#!/usr/bin/env bash
# CPU throughput of the default trainer at its tiny preset: trains for a fixed budget on the
# offline default data (Python stdlib sources) and prints tokens/s and the summary block.
# Usage: bash bench/trainer.sh [budget_seconds]   (default 30; called by `npm run bench -- trainer`)
set -euo pipefail
cd "$(dirname "$0")/../trainer"

export PATH="$HOME/.cache/autoresearch/bin:$PATH"
export UV_CACHE_DIR="${UV_CACHE_DIR:-$HOME/.cache/autoresearch/uv-cache}"
export UV_PYTHON_DOWNLOADS="${UV_PYTHON_DOWNLOADS:-never}"
export UV_PYTHON="${UV_PYTHON:-python3}"
export AUTORESEARCH_TIME_BUDGET="${1:-30}"
export AUTORESEARCH_DEVICE=cpu

echo "bench trainer: cpu preset, ${AUTORESEARCH_TIME_BUDGET}s budget, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
uv run --quiet train.py | grep -v '^step '
