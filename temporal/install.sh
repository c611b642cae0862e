#!/usr/bin/env bash
# Prints the path of a Temporal CLI, building it from source with `go install` when none is found.
# Order: $TEMPORAL_CLI, `temporal` on PATH, the cache ($AUTORESEARCH_CACHE_HOME/bin), then go install.
# The cache lives outside the clone so later set-ups reuse the (slow) build.
set -euo pipefail
CLI_VERSION="v1.5.1"  # later tags carry a replace directive that `go install` refuses
CACHE_HOME="${AUTORESEARCH_CACHE_HOME:-$HOME/.cache/autoresearch}"
BIN_DIR="$CACHE_HOME/bin"

if [[ -n "${TEMPORAL_CLI:-}" && -x "${TEMPORAL_CLI}" ]]; then echo "$TEMPORAL_CLI"; exit 0; fi
if command -v temporal >/dev/null 2>&1; then command -v temporal; exit 0; fi
if [[ -x "$BIN_DIR/temporal" ]]; then echo "$BIN_DIR/temporal"; exit 0; fi

if ! command -v go >/dev/null 2>&1; then
  echo "temporal/install.sh: no 'temporal' on PATH and no Go toolchain to build it; install Go >= 1.25 or put the Temporal CLI on PATH" >&2
  exit 1
fi
mkdir -p "$BIN_DIR"
echo "building the Temporal CLI $CLI_VERSION from source (one time, a few minutes)..." >&2
GOBIN="$BIN_DIR" go install "github.com/temporalio/cli/cmd/temporal@$CLI_VERSION" >&2
echo "$BIN_DIR/temporal"
