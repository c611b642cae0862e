#!/usr/bin/env bash
# `npm run prepare-data -- [stdlib|climbmix|tinystories|PATH] [--shards N] [--device cuda|cpu]`:
# prepares the trainer's data and tokenizer once, as a set-up step (see trainer/prepare.py).
# climbmix reads parquet, so it runs with the trainer's `climbmix` dependency group (pyarrow).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env.sh
cd trainer
group=()
for arg in "$@"; do [[ "$arg" == climbmix ]] && group=(--group climbmix); done
uv run "${group[@]}" prepare.py "$@"
