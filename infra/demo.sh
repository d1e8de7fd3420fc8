#!/usr/bin/env bash
# The quick start: on a fresh Debian or Ubuntu machine, installs what Cargohold
# needs, starts Redis (and a Docker engine if none responds), and runs the demo:
# a sample stack backed up and restored through the real API and agent.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"
LOG_PREFIX=demo
repository_root=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$repository_root"

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
  cat <<EOF
Usage: infra/demo.sh

Backs up a sample stack on the local Docker engine and restores it.
  CARGOHOLD_DOCKER_SOCKET  engine to use (default: /var/run/docker.sock when it
                           responds, else a private engine that this script starts)
  CARGOHOLD_DEMO_REDIS_PORT  port of the demo's own Redis on 127.0.0.1 (default 6397)
  CARGOHOLD_DEMO_PORT      port of the demo's control plane (default: a free port)
  S3_BUCKET, S3_ENDPOINT, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY
                           store the backup in S3; without S3_BUCKET it goes to
                           CARGOHOLD_LOCAL_STORE_DIR (default /var/lib/cargohold-demo/store)
Runs as root, because it starts services and reads Docker volumes.
EOF
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  die "run as root (sudo bash infra/demo.sh): the demo starts services and reads Docker volumes"
fi

bash infra/services/install-deps.sh
bash infra/install-node-modules.sh

# The demo's Redis and engine live apart from the test services, so neither can stop the other's.
export CARGOHOLD_TEST_ROOT=${CARGOHOLD_DEMO_ROOT:-/var/lib/cargohold-demo}/services
export CARGOHOLD_RUN_DIR=/run/cargohold-demo
export CARGOHOLD_REDIS_PORT=${CARGOHOLD_DEMO_REDIS_PORT:-6397}

# Services this script started, stopped in reverse order on exit.
started=()
cleanup() {
  local index
  for ((index = ${#started[@]} - 1; index >= 0; index--)); do
    # shellcheck disable=SC2086
    bash infra/services/${started[index]} || log "stopping with ${started[index]} failed"
  done
}
trap cleanup EXIT

if ! bash infra/services/redis.sh status >/dev/null 2>&1; then
  bash infra/services/redis.sh start
  started+=("redis.sh stop")
fi
REDIS_URL=$(bash infra/services/redis.sh url)
export REDIS_URL

if [[ -z ${CARGOHOLD_DOCKER_SOCKET:-} ]]; then
  if [[ -S /var/run/docker.sock ]] && docker -H unix:///var/run/docker.sock version >/dev/null 2>&1; then
    CARGOHOLD_DOCKER_SOCKET=/var/run/docker.sock
  else
    log "no Docker engine answers at /var/run/docker.sock; starting a private one"
    if ! bash infra/services/dockerd.sh status engine-demo >/dev/null 2>&1; then
      bash infra/services/dockerd.sh start engine-demo
      started+=("dockerd.sh stop engine-demo")
    fi
    CARGOHOLD_DOCKER_SOCKET=$(bash infra/services/dockerd.sh socket engine-demo)
    CARGOHOLD_DOCKER_SOCKET=${CARGOHOLD_DOCKER_SOCKET#unix://}
  fi
fi
export CARGOHOLD_DOCKER_SOCKET
if [[ -z ${S3_BUCKET:-} ]]; then
  export CARGOHOLD_STORE=local
  export CARGOHOLD_LOCAL_STORE_DIR=${CARGOHOLD_LOCAL_STORE_DIR:-/var/lib/cargohold-demo/store}
  log "no S3_BUCKET set: storing the backup in $CARGOHOLD_LOCAL_STORE_DIR"
fi
export LOG_LEVEL=${LOG_LEVEL:-warn}

node --import tsx e2e/demo/run-demo.ts
