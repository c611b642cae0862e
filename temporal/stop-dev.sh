#!/usr/bin/env bash
# Stops the dev server that scripts/quickstart.sh started in the background (its database stays).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
pidfile=.autoresearch/temporal.pid
[[ -f "$pidfile" ]] || { echo "no background dev server recorded ($pidfile)"; exit 0; }
pid="$(cat "$pidfile")"
kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
rm -f "$pidfile"
echo "stopped the dev server (process group $pid)"
