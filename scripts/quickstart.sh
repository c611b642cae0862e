#!/usr/bin/env bash
# The README's run command: sets everything up, starts the local Temporal dev server (persisted to
# .autoresearch/temporal.db; left running so the web UI stays up) and a worker, runs a short
# research run on the embedded default (run.json: CPU, 163,840-token budget, offline proposer, the baseline and one change paired by seed,
# no API key), waits for it, and prints where the results, the branch and the web UI are.
# Env: QUICKSTART_TAG (default quickstart-<time>), QUICKSTART_EXPERIMENTS (default from run.json).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$(pwd)"
bash scripts/setup.sh
source scripts/env.sh
mkdir -p .autoresearch
cli="$(bash temporal/install.sh)"
address="127.0.0.1:${TEMPORAL_PORT:-7233}"
export TEMPORAL_ADDRESS="$address"

server_up() { "$cli" operator namespace describe default --address "$address" >/dev/null 2>&1; }
if server_up; then
  echo "using the Temporal server already on $address"
else
  echo "starting the Temporal dev server on $address (log .autoresearch/temporal.log)"
  setsid nohup bash temporal/start-dev.sh > .autoresearch/temporal.log 2>&1 < /dev/null &
  echo $! > .autoresearch/temporal.pid
  for _ in $(seq 1 120); do server_up && break; sleep 0.5; done
  server_up || { echo "the dev server did not come up; see .autoresearch/temporal.log" >&2; exit 1; }
fi

echo "starting a worker (log .autoresearch/worker.log)"
setsid nohup npx tsx src/worker.ts > .autoresearch/worker.log 2>&1 < /dev/null &
worker=$!
trap 'kill -TERM -- -$worker 2>/dev/null || true' EXIT
for _ in $(seq 1 180); do
  grep -q '^worker: task queue' .autoresearch/worker.log 2>/dev/null && break
  kill -0 "$worker" 2>/dev/null || { echo "the worker exited; see .autoresearch/worker.log:" >&2; tail -20 .autoresearch/worker.log >&2; exit 1; }
  sleep 1
done

tag="${QUICKSTART_TAG:-quickstart-$(date +%Y%m%d-%H%M%S)}"
extra=()
[[ -n "${QUICKSTART_EXPERIMENTS:-}" ]] && extra+=(--max-experiments "$QUICKSTART_EXPERIMENTS")
npx tsx src/cli/research.ts start run.json --tag "$tag" "${extra[@]}"
if ! npx tsx src/cli/research.ts wait "$tag"; then
  # `wait` said why (a run that scored nothing is a failure); the worker's log has the rest.
  echo "The quick start FAILED (run $tag). Logs: $root/.autoresearch/runs/$tag/logs/ and .autoresearch/worker.log" >&2
  exit 1
fi

ui_port=$(( ${TEMPORAL_PORT:-7233} + 1000 ))
cat <<EOT

Done.
  results:  $root/.autoresearch/runs/$tag/results.tsv
  logs:     $root/.autoresearch/runs/$tag/logs/
  branch:   autoresearch/$tag   (git log autoresearch/$tag)
  web UI:   http://localhost:$ui_port/namespaces/default/workflows/$tag
  report:   npm run report -- $tag
The dev server keeps running for the web UI; stop it with: bash temporal/stop-dev.sh
EOT
