#!/usr/bin/env bash
# Starts and stops every service that the integration tests need, and writes their
# addresses to $CARGOHOLD_TEST_ROOT/test.env.
set -euo pipefail

services_dir=$(dirname "$(readlink -f "$0")")
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$services_dir/../lib.sh"
LOG_PREFIX=test-env

env_file="$CARGOHOLD_TEST_ROOT/test.env"

usage() {
  cat <<EOF
Usage: $(basename "$0") up|down|env

  up    install missing packages, start Docker engines engine-a and engine-b, Redis and
        Ceph RGW (each is left alone if already running), and write $env_file
  down  stop Ceph RGW, Redis, engine-b and engine-a, in that order; their data is kept
  env   print the path of the env file (KEY=value lines, for \`source\` and dotenv)

The settings of the single services (ports, state root) are in their own --help.
EOF
}

if [[ $# -ne 1 ]]; then
  usage >&2
  exit 2
fi

# Writes the env file through a temporary file, so that a reader never sees half of it.
write_env_file() {
  local redis_url engine_a engine_b
  redis_url=$("$services_dir/redis.sh" url)
  engine_a=$("$services_dir/dockerd.sh" socket engine-a)
  engine_b=$("$services_dir/dockerd.sh" socket engine-b)

  mkdir -p "$CARGOHOLD_TEST_ROOT"
  {
    # Socket paths without the unix:// scheme, as dockerode's socketPath expects them.
    echo "CARGOHOLD_ENGINE_A_SOCKET=${engine_a#unix://}"
    echo "CARGOHOLD_ENGINE_B_SOCKET=${engine_b#unix://}"
    echo "REDIS_URL=$redis_url"
    "$services_dir/ceph-rgw.sh" env
  } >"$env_file.tmp"
  mv "$env_file.tmp" "$env_file"
}

up() {
  local started_ms
  started_ms=$(now_ms)
  "$services_dir/install-deps.sh"

  # The Ceph cluster takes the longest to start (about 24 s when new and 5 s otherwise,
  # measured on a 2-core VM), so it starts in the background while the engines and
  # Redis start in the foreground.
  local ceph_log="$CARGOHOLD_RUN_DIR/ceph-rgw-start.log"
  mkdir -p "$CARGOHOLD_RUN_DIR"
  "$services_dir/ceph-rgw.sh" start 2>"$ceph_log" &
  local ceph_job=$!

  local failed=0
  "$services_dir/dockerd.sh" start engine-a || failed=1
  "$services_dir/dockerd.sh" start engine-b || failed=1
  "$services_dir/redis.sh" start || failed=1

  # The background start logs to a file, so its lines do not interleave with the others.
  if ! wait "$ceph_job"; then
    failed=1
  fi
  cat "$ceph_log" >&2

  if ((failed)); then
    die "some services did not start; see the messages above, and run '$0 down' to stop the others"
  fi
  write_env_file
  log "all services are running after $((($(now_ms) - started_ms) / 1000)) s; settings in $env_file"
}

down() {
  "$services_dir/ceph-rgw.sh" stop
  "$services_dir/redis.sh" stop
  "$services_dir/dockerd.sh" stop engine-b
  "$services_dir/dockerd.sh" stop engine-a
}

case $1 in
up)
  up
  ;;
down)
  down
  ;;
env)
  if [[ ! -f $env_file ]]; then
    die "$env_file not found; run '$0 up' first"
  fi
  echo "$env_file"
  ;;
-h | --help)
  usage
  ;;
*)
  usage >&2
  exit 2
  ;;
esac
