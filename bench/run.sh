#!/usr/bin/env bash
# `npm run bench -- [trainer|loop|all]`: benchmarks that print figures (never asserted in tests).
#   trainer  CPU tokens/s of the default trainer's tiny preset (bench/trainer.sh [budget_s])
#   loop     orchestration overhead per experiment on a real dev server with the fixture trainer
#   decisions  greedy vs the noise-aware keep rule on a simulated night (bench/decisions.ts [--seeds N] [--k X] ...)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh
what="${1:-all}"
[[ $# -gt 0 ]] && shift
case "$what" in
  trainer) bash bench/trainer.sh "$@" ;;
  loop) npx tsx bench/loop.ts "$@" ;;
  decisions) npx tsx bench/decisions.ts "$@" ;;
  gpu) python3 bench/gpu.py "$@" ;;
  all) npx tsx bench/loop.ts && bash bench/trainer.sh ;;
  *) echo "usage: npm run bench -- [trainer|loop|gpu|decisions|all]" >&2; exit 1 ;;
esac
