#!/usr/bin/env bash
# Runs every test: installs what the tests need, starts the real services they
# run against (two Docker engines, Redis, Ceph RGW), type-checks, runs each
# workspace's vitest suite, and prints one summary line.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"
LOG_PREFIX=test
repository_root=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$repository_root"

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
  cat <<EOF
Usage: infra/test.sh

Runs all tests against real services that it starts on loopback and stops at the end.
  CARGOHOLD_KEEP_SERVICES=1  leave the services running for the next run
Runs as root, because it starts Docker engines.
EOF
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  die "run as root (sudo bash infra/test.sh): the tests start their own Docker engines"
fi

bash infra/services/install-deps.sh
bash infra/install-node-modules.sh

if [[ ${CARGOHOLD_KEEP_SERVICES:-0} != 1 ]]; then
  trap 'bash infra/services/test-env.sh down || log "stopping the test services failed"' EXIT
fi
bash infra/services/test-env.sh up
set -a
# shellcheck disable=SC1090
source "$(bash infra/services/test-env.sh env)"
set +a
export TESTCONTAINERS_RYUK_DISABLED=true TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1

# The fixture images take about a minute the first time; building them here keeps that out of test timeouts.
bash infra/fixtures/build-images.sh "$CARGOHOLD_ENGINE_A_SOCKET" >/dev/null

npx turbo run typecheck --output-logs=errors-only
npx tsc -p bench
status=0
# --continue runs every workspace's tests even after one fails, so the summary covers them all.
npx turbo run test --concurrency=1 --continue || status=$?
node infra/summarize-tests.mjs || status=1
exit "$status"
