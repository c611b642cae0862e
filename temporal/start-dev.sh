#!/usr/bin/env bash
# Starts the local Temporal dev server in the foreground, persisted to SQLite so runs survive restarts.
# Env: TEMPORAL_DB (default .autoresearch/temporal.db), TEMPORAL_PORT (7233), TEMPORAL_UI_PORT (8233).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cli="$(bash "$here/install.sh")"
db="${TEMPORAL_DB:-$root/.autoresearch/temporal.db}"
mkdir -p "$(dirname "$db")"
args=(server start-dev --db-filename "$db" --ip 127.0.0.1
  --port "${TEMPORAL_PORT:-7233}" --ui-port "${TEMPORAL_UI_PORT:-8233}"
  --log-level "${TEMPORAL_LOG_LEVEL:-warn}")
# The run's search attributes are created by the worker and by `npm run research -- start` (src/temporal/searchAttributes.ts).
echo "Temporal dev server: grpc 127.0.0.1:${TEMPORAL_PORT:-7233}, web UI http://localhost:${TEMPORAL_UI_PORT:-8233}, db $db" >&2
exec "$cli" "${args[@]}"
