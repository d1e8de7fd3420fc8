#!/usr/bin/env bash
# Starts, stops and reports on a private Docker engine for the integration tests.
# Each engine has its own containerd, data root, exec root and API socket, so several
# engines (and a system Docker, if any) run side by side without sharing state.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "$(readlink -f "$0")")/../lib.sh"

usage() {
  cat <<EOF
Usage: $(basename "$0") start|stop|status|socket NAME

Manages the Docker engine NAME (letters, digits and dashes, e.g. engine-a).
  start   start the engine unless it is running, and wait until its API responds (up to 60 s)
  stop    stop the engine and its containerd (SIGTERM, then SIGKILL after 30 s)
  status  exit 0 when the engine is running, 3 when it is stopped
  socket  print the engine's API address (unix://...)

State:   \$CARGOHOLD_TEST_ROOT/NAME (default root: /var/lib/cargohold-test)
Sockets: \$CARGOHOLD_RUN_DIR/NAME.sock (default run dir: /run/cargohold-test)
Storage driver: \$CARGOHOLD_DOCKER_STORAGE_DRIVER (default: overlay2)
EOF
}

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
  usage
  exit 0
fi
if [[ $# -ne 2 ]]; then
  usage >&2
  exit 2
fi

command=$1
name=$2
LOG_PREFIX=dockerd
if [[ ! $name =~ ^[a-z0-9][a-z0-9-]{0,30}$ ]]; then
  die "invalid engine name '$name': use 1 to 31 lowercase letters, digits and dashes"
fi
LOG_PREFIX="dockerd $name"

storage_driver=${CARGOHOLD_DOCKER_STORAGE_DRIVER:-overlay2}
state_dir="$CARGOHOLD_TEST_ROOT/$name"
run_dir="$CARGOHOLD_RUN_DIR/$name"
api_socket="$CARGOHOLD_RUN_DIR/$name.sock"
api_address="unix://$api_socket"
containerd_socket="$run_dir/containerd/containerd.sock"
containerd_config="$state_dir/containerd.toml"
containerd_pidfile="$run_dir/containerd.pid"
containerd_log="$state_dir/containerd.log"
dockerd_pidfile="$run_dir/dockerd.pid"
dockerd_log="$state_dir/dockerd.log"

dockerd_pid() {
  running_pid "$dockerd_pidfile" dockerd
}

containerd_pid() {
  running_pid "$containerd_pidfile" containerd
}

api_responds() {
  docker -H "$api_address" version >/dev/null 2>&1
}

write_containerd_config() {
  # The CRI plugin is for Kubernetes and is not needed by dockerd. The debug and metrics
  # listeners are off so that no engine opens a socket outside its own directories.
  cat >"$containerd_config" <<EOF
version = 2
root = "$state_dir/containerd"
state = "$run_dir/containerd"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "$containerd_socket"

[ttrpc]
  address = "$containerd_socket.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$state_dir/containerd/opt"
EOF
}

# Starts this engine's own containerd. Without --containerd, dockerd 20.10 starts a managed
# containerd only when no system containerd runs at /run/containerd/containerd.sock, and
# otherwise attaches every engine to that one.
start_containerd() {
  if containerd_pid >/dev/null; then
    return 0
  fi
  write_containerd_config
  local pid
  pid=$(start_detached "$containerd_pidfile" "$containerd_log" containerd --config "$containerd_config")
  log "started containerd (PID $pid)"
  if ! wait_for --pid "$pid" 30 "containerd socket $containerd_socket" test -S "$containerd_socket"; then
    show_log_tail "$containerd_log"
    die "containerd did not start; see $containerd_log"
  fi
}

start_engine() {
  local pid
  if pid=$(dockerd_pid); then
    wait_for --pid "$pid" 60 "the API at $api_address" api_responds ||
      die "dockerd (PID $pid) is running but its API does not respond; see $dockerd_log"
    log "already running at $api_address"
    return 0
  fi
  if ! command -v dockerd >/dev/null || ! command -v containerd >/dev/null; then
    die "dockerd or containerd not found; run infra/services/install-deps.sh first"
  fi

  mkdir -p "$state_dir/data" "$state_dir/containerd" "$run_dir/exec" "$run_dir/containerd"
  start_containerd

  # A config file of our own keeps dockerd from reading the host's /etc/docker/daemon.json.
  # The engine ID that `docker info` reports is derived from the trust key, so each engine
  # gets its own key file, where the default /etc/docker/key.json would give all engines
  # one ID. dockerd 20.10 accepts that path only in the config file.
  cat >"$state_dir/daemon.json" <<EOF
{"deprecated-key-path": "$state_dir/key.json"}
EOF

  # dockerd writes its own pidfile and exits at startup when that file names a live
  # process, so start_detached does not write it.
  pid=$(start_detached "" "$dockerd_log" dockerd \
    --config-file "$state_dir/daemon.json" \
    --data-root "$state_dir/data" \
    --exec-root "$run_dir/exec" \
    --pidfile "$dockerd_pidfile" \
    --host "$api_address" \
    --containerd "$containerd_socket" \
    --cgroup-parent "/cargohold-$name" \
    --storage-driver "$storage_driver" \
    --bridge=none \
    --iptables=false \
    --ip6tables=false)
  log "started dockerd (PID $pid), waiting for $api_address"

  if ! wait_for --pid "$pid" 60 "the API at $api_address" api_responds; then
    show_log_tail "$dockerd_log"
    stop_engine
    die "dockerd did not start; see $dockerd_log"
  fi
  log "running at $api_address (storage driver $(docker -H "$api_address" info --format '{{.Driver}}'))"
}

# Lists the PIDs of containerd-shim processes that this engine's containerd started.
# A shim outlives containerd by design, so a container that dockerd failed to stop would
# leave one behind.
engine_shim_pids() {
  local proc cmdline
  for proc in /proc/[0-9]*; do
    # A process may exit between the glob and the read, so errors are ignored.
    cmdline=$({ tr '\0' ' ' <"$proc/cmdline"; } 2>/dev/null) || continue
    if [[ $cmdline == containerd-shim* && $cmdline == *"-address $containerd_socket "* ]]; then
      echo "${proc#/proc/}"
    fi
  done
}

stop_engine() {
  # dockerd stops running containers on SIGTERM and waits up to 15 s for them, so it gets
  # 30 s before SIGKILL.
  stop_by_pidfile "$dockerd_pidfile" dockerd 30 dockerd
  stop_by_pidfile "$containerd_pidfile" containerd 15 containerd

  local shim_pids
  shim_pids=$(engine_shim_pids)
  if [[ -n $shim_pids ]]; then
    log "warning: containerd shims of this engine are still running: PIDs ${shim_pids//$'\n'/ }"
  fi
  rm -f "$api_socket"
  log "stopped"
}

case $command in
start)
  start_engine
  ;;
stop)
  stop_engine
  ;;
status)
  if pid=$(dockerd_pid) && api_responds; then
    echo "$name: running (dockerd PID $pid, containerd PID $(containerd_pid || echo none)) at $api_address"
  else
    echo "$name: stopped"
    exit 3
  fi
  ;;
socket)
  echo "$api_address"
  ;;
*)
  usage >&2
  exit 2
  ;;
esac
