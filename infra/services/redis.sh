#!/usr/bin/env bash
# Starts, stops and reports on a private Redis server on loopback for the integration tests.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "$(readlink -f "$0")")/../lib.sh"
LOG_PREFIX=redis

usage() {
  cat <<EOF
Usage: $(basename "$0") start|stop|status|url

Manages a Redis server on 127.0.0.1:\$CARGOHOLD_REDIS_PORT (default 6399) without persistence.
  start   start the server unless it is running, and wait until it replies to PING (up to 30 s)
  stop    stop the server (SIGTERM, then SIGKILL after 15 s)
  status  exit 0 when the server is running, 3 when it is stopped
  url     print the redis:// URL of the server

State: \$CARGOHOLD_TEST_ROOT/redis (default root: /var/lib/cargohold-test)
EOF
}

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
  usage
  exit 0
fi
if [[ $# -ne 1 ]]; then
  usage >&2
  exit 2
fi

port=${CARGOHOLD_REDIS_PORT:-6399}
if [[ ! $port =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then
  die "invalid CARGOHOLD_REDIS_PORT '$port': expected a TCP port number"
fi
state_dir="$CARGOHOLD_TEST_ROOT/redis"
# The pidfile is per port, so that a server on another port is not taken for this one.
pidfile="$CARGOHOLD_RUN_DIR/redis-$port.pid"
logfile="$state_dir/redis.log"

server_pid() {
  running_pid "$pidfile" redis-server
}

server_responds() {
  [[ $(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null) == PONG ]]
}

start_server() {
  local pid
  if pid=$(server_pid); then
    wait_for --pid "$pid" 30 "Redis (PID $pid) to reply to PING on 127.0.0.1:$port" server_responds ||
      die "redis-server (PID $pid) is running but does not reply to PING; see $logfile"
    log "already running on 127.0.0.1:$port"
    return 0
  fi
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    die "redis-server or redis-cli not found; run infra/services/install-deps.sh first"
  fi
  if server_responds; then
    die "another Redis server replies on 127.0.0.1:$port; stop it or set CARGOHOLD_REDIS_PORT"
  fi
  mkdir -p "$state_dir"

  # The server runs in the foreground (daemonize no) so that start_detached records its PID.
  # BullMQ requires maxmemory-policy noeviction, because evicted keys corrupt its queues.
  # Persistence is off because tests create the data they need.
  pid=$(start_detached "$pidfile" "$logfile" redis-server \
    --bind 127.0.0.1 \
    --port "$port" \
    --protected-mode yes \
    --daemonize no \
    --dir "$state_dir" \
    --save "" \
    --appendonly no \
    --maxmemory-policy noeviction \
    --logfile "")
  log "started redis-server (PID $pid) on 127.0.0.1:$port"

  if ! wait_for --pid "$pid" 30 "Redis to reply to PING on 127.0.0.1:$port" server_responds; then
    show_log_tail "$logfile"
    stop_by_pidfile "$pidfile" redis-server 15 redis-server
    die "redis-server did not start; see $logfile"
  fi
}

case $1 in
start)
  start_server
  ;;
stop)
  stop_by_pidfile "$pidfile" redis-server 15 redis-server
  log "stopped"
  ;;
status)
  if pid=$(server_pid) && server_responds; then
    echo "redis: running (PID $pid) on 127.0.0.1:$port"
  else
    echo "redis: stopped"
    exit 3
  fi
  ;;
url)
  echo "redis://127.0.0.1:$port"
  ;;
*)
  usage >&2
  exit 2
  ;;
esac
