# shellcheck shell=bash
# Shared helpers for the scripts under infra/. Source this file; it does not run on its own.
#
# The sourcing script should set LOG_PREFIX before calling log, and must use `set -euo pipefail`.

# Persistent state (data roots, cluster stores, logs) lives under CARGOHOLD_TEST_ROOT, and
# sockets and pidfiles live under CARGOHOLD_RUN_DIR.
CARGOHOLD_TEST_ROOT="${CARGOHOLD_TEST_ROOT:-/var/lib/cargohold-test}"
CARGOHOLD_RUN_DIR="${CARGOHOLD_RUN_DIR:-/run/cargohold-test}"
export CARGOHOLD_TEST_ROOT CARGOHOLD_RUN_DIR

# Writes one log line to stderr, prefixed with the time and LOG_PREFIX.
log() {
  printf '%s [%s] %s\n' "$(date +%H:%M:%S)" "${LOG_PREFIX:-cargohold}" "$*" >&2
}

die() {
  log "error: $*"
  exit 1
}

# Returns the current time in milliseconds since the epoch.
now_ms() {
  local ns
  ns=$(date +%s%N)
  echo $((ns / 1000000))
}

# Prints the PID stored in PIDFILE, or nothing when the file is missing or does not contain a number.
pidfile_read() {
  local pidfile=$1 pid=""
  if [[ -r $pidfile ]]; then
    read -r pid <"$pidfile" || true
  fi
  if [[ $pid =~ ^[0-9]+$ ]]; then
    echo "$pid"
  fi
}

# Succeeds when PID exists and is not a zombie.
# Services are detached from the script, so their parent becomes PID 1. Where PID 1 does
# not reap children, a stopped service stays a zombie, which still passes `kill -0`.
pid_is_alive() {
  local pid=$1 stat
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  # The state field follows the command name, which is in parentheses and may contain spaces.
  stat=${stat##*) }
  [[ ${stat:0:1} != Z && ${stat:0:1} != X ]]
}

# Succeeds when PID is alive and its executable is BINARY.
# Checking the executable guards against a stale pidfile whose PID the kernel has reused.
pid_is_running() {
  local pid=$1 binary=$2 exe
  pid_is_alive "$pid" || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  exe=${exe% (deleted)}
  [[ $exe == "$(readlink -f "$(command -v "$binary")")" ]]
}

pid_is_gone() {
  ! pid_is_alive "$1"
}

# Prints the PID from PIDFILE when that process is running BINARY, and fails otherwise.
running_pid() {
  local pidfile=$1 binary=$2 pid
  pid=$(pidfile_read "$pidfile")
  [[ -n $pid ]] && pid_is_running "$pid" "$binary" && echo "$pid"
}

# Starts CMD detached in its own session, with stdin from /dev/null and output appended to
# LOGFILE, and writes its PID to PIDFILE unless PIDFILE is empty (for daemons that write
# their own pidfile). Prints the PID.
start_detached() {
  local pidfile=$1 logfile=$2
  shift 2
  mkdir -p "$(dirname "$logfile")"

  # The subshell closes every inherited descriptor above 2, because a service that kept a
  # lock file descriptor of the script would hold that lock for as long as it runs.
  # setsid keeps the service alive when the caller's process group gets SIGINT or SIGHUP.
  # A background job of a non-interactive shell is not a process group leader, so setsid
  # execs in place, and $! is the service's own PID.
  (
    for fd_path in "/proc/$BASHPID/fd/"*; do
      fd=${fd_path##*/}
      if ((fd > 2)); then
        eval "exec $fd>&-"
      fi
    done
    exec setsid "$@"
  ) </dev/null >>"$logfile" 2>&1 &
  local pid=$!

  if [[ -n $pidfile ]]; then
    mkdir -p "$(dirname "$pidfile")"
    echo "$pid" >"$pidfile"
  fi
  echo "$pid"
}

# Waits until a command succeeds, polling every 0.2 s.
#
#   wait_for [--pid PID] TIMEOUT_S DESCRIPTION CMD...
#
# With --pid, fails as soon as that process exits, so a service that crashes at startup
# does not cost the whole timeout. CMD output is discarded.
wait_for() {
  local watch_pid=""
  if [[ $1 == --pid ]]; then
    watch_pid=$2
    shift 2
  fi
  local timeout_s=$1 description=$2
  shift 2

  local deadline=$(($(now_ms) + timeout_s * 1000))
  while true; do
    if "$@" >/dev/null 2>&1; then
      return 0
    fi
    if [[ -n $watch_pid ]] && ! pid_is_alive "$watch_pid"; then
      log "process $watch_pid exited while waiting for $description"
      return 1
    fi
    if (($(now_ms) >= deadline)); then
      log "timed out after ${timeout_s} s waiting for $description"
      return 1
    fi
    sleep 0.2
  done
}

# Stops the process in PIDFILE: SIGTERM, then SIGKILL if it is still running after
# TIMEOUT_S seconds. Removes PIDFILE. Does nothing when the process is not running.
#
#   stop_by_pidfile PIDFILE BINARY TIMEOUT_S NAME
stop_by_pidfile() {
  local pidfile=$1 binary=$2 timeout_s=$3 name=$4 pid
  if ! pid=$(running_pid "$pidfile" "$binary"); then
    rm -f "$pidfile"
    return 0
  fi

  log "stopping $name (PID $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_for "$timeout_s" "$name (PID $pid) to exit after SIGTERM" pid_is_gone "$pid"; then
    log "sending SIGKILL to $name (PID $pid)"
    kill -KILL "$pid" 2>/dev/null || true
    wait_for 10 "$name (PID $pid) to exit after SIGKILL" pid_is_gone "$pid" ||
      die "$name (PID $pid) is still running after SIGKILL"
  fi
  rm -f "$pidfile"
}

# Prints the last lines of LOGFILE to stderr, to explain a failed start.
show_log_tail() {
  local logfile=$1 lines=${2:-30}
  if [[ -r $logfile ]]; then
    log "last $lines lines of $logfile:"
    tail -n "$lines" "$logfile" >&2
  fi
}
