#!/usr/bin/env bash
# Installs Debian's docker-compose for test/unit/dockerCompose.test.ts, which runs `docker-compose
# config` on docker-compose.yml (Compose's own validation; it needs no Docker engine). Optional: when
# it cannot be installed (no apt-get, not root, no network) this says why and the test skips that
# part; the schema test runs either way. Does nothing when docker-compose is already there.
set -uo pipefail

if command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-docker-compose.sh: no apt-get; the docker-compose config test will be skipped" >&2
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-docker-compose.sh: needs root (apt-get); the docker-compose config test will be skipped" >&2
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
echo "installing docker-compose with apt-get ..."
if apt-get install -y -qq --no-install-recommends docker-compose >/dev/null 2>&1 \
  || { apt-get update -qq && apt-get install -y -qq --no-install-recommends docker-compose >/dev/null; }; then
  echo "docker-compose installed: $(docker-compose version --short 2>/dev/null || echo docker-compose)"
else
  echo "install-docker-compose.sh: apt-get could not install docker-compose; the docker-compose config test will be skipped" >&2
fi
exit 0
