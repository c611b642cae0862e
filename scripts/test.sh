#!/usr/bin/env bash
# The project's test command (npm test): sets everything up, then runs the TypeScript and Python suites.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
export NODE_OPTIONS="--experimental-vm-modules ${NODE_OPTIONS:-}"
npx jest --runInBand "$@"
