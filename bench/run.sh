#!/usr/bin/env bash
# `npm run bench -- [trainer|loop|lanes|gpu|decisions|research|memory|all]`: benchmarks that print figures (never asserted in tests).
#   trainer  CPU tokens/s of the default trainer's tiny preset (bench/trainer.sh [budget_s])
#   loop     orchestration overhead per experiment on a real dev server with the fixture trainer
#   lanes    lane scaling (1, 2, 4 workers), loop efficiency with pipelining off and on, orchestration vs a bare shell loop
#   gpu      our trainer and the original's train.py on one GPU (bench/gpu.py)
#   decisions  greedy vs the noise-aware keep rules on a simulated night (bench/decisions.ts [--seeds N] [--k X] ... [--frontier])
#   research keep rules on landscapes with known truth, per proposer and machine (bench/research.ts [--nights N] [--frontier] ...)
#   memory   contents trained twice with and without the journal, and the journal's prompt size and read/build time at 100-10,000 records
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh
what="${1:-all}"
[[ $# -gt 0 ]] && shift
case "$what" in
  trainer) bash bench/trainer.sh "$@" ;;
  loop) npx tsx bench/loop.ts "$@" ;;
  decisions) npx tsx bench/decisions.ts "$@" ;;
  research) npx tsx bench/research.ts "$@" ;;
  memory) npx tsx bench/memory.ts "$@" ;;
  lanes) npx tsx bench/lanes.ts "$@" ;;
  gpu) python3 bench/gpu.py "$@" ;;
  all) npx tsx bench/loop.ts && bash bench/trainer.sh ;;
  *) echo "usage: npm run bench -- [trainer|loop|lanes|gpu|decisions|research|memory|all]" >&2; exit 1 ;;
esac
