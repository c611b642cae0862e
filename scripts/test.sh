#!/usr/bin/env bash
# The project's test command (`npm test`, run by .ci/run): sets everything up, lints, then runs the
# TypeScript suites (Jest: unit, workflow and fault tests against real dev servers they start
# themselves, report and UI in headless Chromium) and the trainer's pytest suite.
# Extra arguments go to Jest, e.g. `npm test -- test/unit`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
bash scripts/install-debian-package.sh chromium chromium fonts-dejavu-core   # the report's PNG and the browser tests
bash scripts/install-debian-package.sh --optional "test/unit/dockerCompose.test.ts skips its docker-compose config part" docker-compose docker-compose
source scripts/env.sh
if [[ $# -eq 0 ]]; then
  printf '\033[1m== lint (eslint)\033[0m\n'
  npx eslint .
fi
export NODE_OPTIONS="--experimental-vm-modules --no-warnings ${NODE_OPTIONS:-}"
if [[ $# -eq 0 ]]; then
  # A full run keeps the two cores busy less than half the time: most suites wait on child
  # processes, dev servers and trainers. So most run two at a time; the suites that kill workers,
  # restart servers and wait out heartbeats run one at a time, last, where their timing is their own.
  light='test/(unit|replay|report|llm)/'
  kills='test/fault/(workerKill|lanes|proposerKill|faultHarness|serverRestart|hugeLog|trainerFaults)\.test'
  printf '\033[1m== jest: unit, replay, report and LLM suites, two at a time\033[0m\n'
  npx jest --maxWorkers=2 --testPathPatterns "$light"
  printf '\033[1m== jest: workflow, UI, sandbox and harness suites, two at a time\033[0m\n'
  npx jest --maxWorkers=2 --testPathIgnorePatterns "$light" "$kills" '/node_modules/'
  printf '\033[1m== jest: worker kills, server restarts and lane faults, one at a time\033[0m\n'
  npx jest --runInBand --testPathPatterns "$kills"
else
  npx jest --runInBand "$@"
fi
if [[ $# -eq 0 ]]; then
  printf '\033[1m== trainer tests (pytest)\033[0m\n'
  (cd trainer && uv run --frozen --group dev pytest -q)
fi
