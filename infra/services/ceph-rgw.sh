#!/usr/bin/env bash
# Starts, stops and reports on a one-node Ceph cluster with a RADOS Gateway, which gives
# the integration tests a real S3 endpoint on loopback.
#
# The cluster has one monitor, one bluestore OSD on a sparse file, and no manager.
# Authentication is off (auth none): every daemon listens on 127.0.0.1 only, and S3
# clients still sign requests with the keys of the S3 user.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "$(readlink -f "$0")")/../lib.sh"
LOG_PREFIX=ceph-rgw

usage() {
  cat <<EOF
Usage: $(basename "$0") start|stop|status|reset|env

Manages a one-node Ceph cluster whose RADOS Gateway serves S3 on 127.0.0.1.
  start   start the cluster unless it is running, creating it on first use, and wait
          until the gateway responds to HTTP (the gateway gets up to 120 s on a new
          cluster and 90 s otherwise)
  stop    stop the gateway, the OSD and the monitor (SIGTERM, then SIGKILL after 30 s)
  status  exit 0 when the gateway responds, 3 when it is stopped
  reset   stop the cluster and delete all of its data, so the next start creates it anew
  env     print the S3 settings as KEY=value lines

Environment:
  CARGOHOLD_RGW_PORT        S3 port (default 7480)
  CARGOHOLD_CEPH_MON_PORT   monitor port, fixed when the cluster is created (default 3300)
  CARGOHOLD_CEPH_OSD_SIZE   size of the sparse OSD file, fixed when the cluster is
                            created (default 20G)
State: \$CARGOHOLD_TEST_ROOT/ceph (default root: /var/lib/cargohold-test)
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
command=$1

rgw_port=${CARGOHOLD_RGW_PORT:-7480}
mon_port=${CARGOHOLD_CEPH_MON_PORT:-3300}
osd_size=${CARGOHOLD_CEPH_OSD_SIZE:-20G}
for port in "$rgw_port" "$mon_port"; do
  if [[ ! $port =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then
    die "invalid port '$port' in CARGOHOLD_RGW_PORT or CARGOHOLD_CEPH_MON_PORT"
  fi
done

# Fixed credentials of the S3 user. They protect nothing, because the gateway listens on
# loopback only, and fixed values let test.env stay the same across resets.
s3_user=cargohold
s3_access_key=CARGOHOLDTESTACCESS1
s3_secret_key=cargohold-test-secret-0123456789abcdefghij

ceph_dir="$CARGOHOLD_TEST_ROOT/ceph"
run_dir="$CARGOHOLD_RUN_DIR/ceph"
conf="$ceph_dir/ceph.conf"
mon_data="$ceph_dir/mon/ceph-a"
osd_data="$ceph_dir/osd/ceph-0"
log_dir="$ceph_dir/log"
# A successful first start writes this marker last. Without it, start creates the cluster anew.
initialized_marker="$ceph_dir/initialized"
rgw_name=client.rgw.cargohold
rgw_url="http://127.0.0.1:$rgw_port"

mon_pidfile="$run_dir/mon.a.pid"
osd_pidfile="$run_dir/osd.0.pid"
rgw_pidfile="$run_dir/rgw.pid"
# The port of the running gateway, to detect a start that requests another one.
rgw_portfile="$run_dir/rgw.port"

ceph_cli() {
  ceph --conf "$conf" --connect-timeout 10 "$@"
}

write_conf() {
  local fsid=$1
  # Ceph expands $cluster, $name and $id itself, so those stay literal here.
  cat >"$conf" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon_port
mon initial members = a
public network = 127.0.0.0/8
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false

auth cluster required = none
auth service required = none
auth client required = none
# The global_id reclaim warnings are about cephx clients, which this cluster does not use.
mon warn on insecure global id reclaim = false
mon warn on insecure global id reclaim allowed = false

run dir = $run_dir
admin socket = $run_dir/\$cluster-\$name.asok
log file = $log_dir/\$cluster-\$name.log
crash dir = $ceph_dir/crash
# The script keeps its own pidfiles, because the daemons run in the foreground.
pid file =

# One OSD stores every object, so pools keep a single copy and CRUSH places it on the
# OSD itself instead of looking for other hosts.
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
# The PG autoscaler runs in the manager, which this cluster does not have.
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off

# By default the monitor warns below 30 % free space on its file system and shuts down
# below 5 %. Test hosts often run fuller than that.
mon data avail warn = 2
mon data avail crit = 1

[mon]
mon data = $ceph_dir/mon/\$cluster-\$id

[osd]
osd data = $ceph_dir/osd/\$cluster-\$id
osd objectstore = bluestore
bluestore block create = true
# NOTE: the sparse file takes host disk space as objects fill it, and the OSD fails when
# the host file system runs out before the file reaches this size.
bluestore block size = $(numfmt --from=iec "$osd_size")
bluestore fsck on mount = false
# The default target of 4 GiB is sized for production hosts.
osd memory target = 1073741824

[$rgw_name]
# radosgw defaults to secure mode towards the monitor, which needs the session keys that
# auth none does not create, so it would retry authentication forever.
ms mon client mode = crc
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw data = $ceph_dir/rgw
# Deleted objects keep their space until garbage collection, by default after 2 hours.
# Tests that upload and delete GiB-sized objects would fill the OSD before that.
rgw gc obj min wait = 60
rgw gc processor period = 60
EOF
}

mon_is_up() {
  ceph_cli mon stat >/dev/null 2>&1
}

osd_is_up() {
  [[ $(ceph_cli osd stat --format json 2>/dev/null | jq -r '.num_up_osds') == 1 ]]
}

# An anonymous GET on the service root returns 200 with an empty bucket list once the
# gateway serves requests.
rgw_responds() {
  [[ $(curl --silent --output /dev/null --write-out '%{http_code}' --max-time 5 "$rgw_url/") == 200 ]]
}

# Starts a daemon unless its pidfile names a running process, then waits until CHECK
# succeeds, so that a daemon that is running but not yet ready is waited for too.
#
#   ensure_daemon LABEL PIDFILE BINARY TIMEOUT_S LOGFILE CHECK -- CMD...
ensure_daemon() {
  local label=$1 pidfile=$2 binary=$3 timeout_s=$4 logfile=$5 check=$6
  shift 7
  local pid
  if ! pid=$(running_pid "$pidfile" "$binary"); then
    pid=$(start_detached "$pidfile" "$log_dir/$label.stdout.log" "$@")
    log "started $label (PID $pid)"
  fi
  if ! wait_for --pid "$pid" "$timeout_s" "$label to be ready" "$check"; then
    show_log_tail "$logfile"
    die "$label did not start; see $logfile"
  fi
}

start_mon() {
  ensure_daemon ceph-mon "$mon_pidfile" ceph-mon 30 "$log_dir/ceph-mon.a.log" mon_is_up -- \
    ceph-mon --conf "$conf" --id a --foreground
}

start_osd() {
  ensure_daemon ceph-osd "$osd_pidfile" ceph-osd 60 "$log_dir/ceph-osd.0.log" osd_is_up -- \
    ceph-osd --conf "$conf" --id 0 --foreground
}

# On first start the gateway creates its pools, which takes most of the cold start.
start_rgw() {
  local timeout_s=$1
  echo "$rgw_port" >"$rgw_portfile"
  ensure_daemon radosgw "$rgw_pidfile" radosgw "$timeout_s" "$log_dir/ceph-$rgw_name.log" rgw_responds -- \
    radosgw --conf "$conf" --name "$rgw_name" --foreground
}

# Creates the monitor store and the OSD, and starts both. It deletes any partly created
# cluster (one without the initialized marker) first.
create_cluster() {
  log "creating a new cluster in $ceph_dir"
  rm -rf "$ceph_dir"
  # ceph-mon --mkfs fails without an error message when the parent of mon data is missing.
  mkdir -p "$ceph_dir/mon" "$ceph_dir/osd" "$ceph_dir/rgw" "$ceph_dir/crash" "$log_dir" "$run_dir"

  local fsid osd_uuid
  fsid=$(uuidgen)
  write_conf "$fsid"
  echo "$fsid" >"$ceph_dir/fsid"
  echo "$mon_port" >"$ceph_dir/mon-port"
  echo "$osd_size" >"$ceph_dir/osd-size"

  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" "$ceph_dir/monmap" \
    >>"$log_dir/mkfs.log" 2>&1 || die "monmaptool failed; see $log_dir/mkfs.log"
  ceph-mon --conf "$conf" --id a --mkfs --monmap "$ceph_dir/monmap" >>"$log_dir/mkfs.log" 2>&1 ||
    die "ceph-mon --mkfs failed; see $log_dir/mkfs.log"
  [[ -d $mon_data ]] || die "ceph-mon --mkfs did not create $mon_data; see $log_dir/mkfs.log"
  start_mon

  osd_uuid=$(uuidgen)
  ceph_cli osd new "$osd_uuid" 0 >/dev/null || die "ceph osd new failed for osd.0"
  mkdir -p "$osd_data"
  # bluestore creates the sparse file osd data/block itself (bluestore block create = true).
  ceph-osd --conf "$conf" --id 0 --mkfs --osd-uuid "$osd_uuid" >>"$log_dir/mkfs.log" 2>&1 ||
    die "ceph-osd --mkfs failed; see $log_dir/mkfs.log"
  start_osd
}

# Creates the S3 user with the fixed keys unless it exists.
ensure_s3_user() {
  if radosgw-admin --conf "$conf" user info --uid "$s3_user" >/dev/null 2>&1; then
    return 0
  fi
  radosgw-admin --conf "$conf" user create --uid "$s3_user" --display-name "Cargohold tests" \
    --access-key "$s3_access_key" --secret-key "$s3_secret_key" >/dev/null ||
    die "radosgw-admin user create failed for user $s3_user"
  log "created S3 user $s3_user"
}

# Sends one SigV4-signed S3 request with curl and prints the response body.
s3_request() {
  local method=$1 url=$2
  shift 2
  # curl 7.88 signs only the x-amz-content-sha256 header that it is given, and S3
  # requires one, so the payload is declared unsigned.
  curl --silent --show-error --fail --max-time 60 \
    --aws-sigv4 aws:amz:us-east-1:s3 --user "$s3_access_key:$s3_secret_key" \
    --header 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
    --request "$method" "$@" "$url" ||
    die "S3 request $method $url failed"
}

# Runs each kind of S3 write once, because the gateway creates the bucket index, data
# and multipart pools on first use. Each pool costs about 2 s (measured on a 2-core VM),
# which the first test to create a bucket, write an object or start a multipart upload
# would otherwise pay.
warm_up_s3() {
  local url="$rgw_url/cargohold-warmup" upload_id
  s3_request PUT "$url" >/dev/null
  s3_request PUT "$url/object" --data-binary warmup >/dev/null
  # The query is "uploads=" because curl 7.88 signs a bare "uploads" without the "=" that
  # the SigV4 canonical query string has, and the gateway then rejects the signature.
  upload_id=$(s3_request POST "$url/multipart?uploads=" | sed -n 's:.*<UploadId>\(.*\)</UploadId>.*:\1:p')
  [[ -n $upload_id ]] || die "the warm-up multipart upload returned no UploadId"
  s3_request DELETE "$url/multipart?uploadId=$upload_id" >/dev/null
  s3_request DELETE "$url/object" >/dev/null
  s3_request DELETE "$url" >/dev/null
}

check_fixed_settings() {
  local created_port created_size
  created_port=$(cat "$ceph_dir/mon-port")
  created_size=$(cat "$ceph_dir/osd-size")
  if [[ $created_port != "$mon_port" || $created_size != "$osd_size" ]]; then
    die "the cluster was created with monitor port $created_port and OSD size $created_size," \
      "but $mon_port and $osd_size are requested; run '$0 reset' to create it anew"
  fi
}

start_cluster() {
  if running_pid "$rgw_pidfile" radosgw >/dev/null; then
    local running_port
    running_port=$(cat "$rgw_portfile" 2>/dev/null || echo unknown)
    if [[ $running_port != "$rgw_port" ]]; then
      die "the gateway is running on port $running_port, not $rgw_port; run '$0 stop' first"
    fi
    if rgw_responds; then
      log "already running at $rgw_url"
      return 0
    fi
  fi
  local tool
  for tool in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool uuidgen curl jq; do
    command -v "$tool" >/dev/null || die "$tool not found; run infra/services/install-deps.sh first"
  done
  if rgw_responds && ! running_pid "$rgw_pidfile" radosgw >/dev/null; then
    die "another server responds on 127.0.0.1:$rgw_port; stop it or set CARGOHOLD_RGW_PORT"
  fi
  mkdir -p "$run_dir"
  # A failed start stops the daemons it started, so that a retry begins from a clean state.
  trap 'if (($? != 0)); then stop_cluster; fi' EXIT

  if [[ -f $initialized_marker ]]; then
    check_fixed_settings
    # The config is rewritten so that a changed CARGOHOLD_RGW_PORT takes effect.
    write_conf "$(cat "$ceph_dir/fsid")"
    start_mon
    start_osd
    start_rgw 90
  else
    stop_cluster
    create_cluster
    start_rgw 120
    ensure_s3_user
    warm_up_s3
    touch "$initialized_marker"
  fi
  trap - EXIT
  log "running at $rgw_url"
}

stop_cluster() {
  # The gateway goes first and the monitor last, so that no daemon loses its monitor
  # while it shuts down.
  stop_by_pidfile "$rgw_pidfile" radosgw 30 radosgw
  stop_by_pidfile "$osd_pidfile" ceph-osd 30 ceph-osd
  stop_by_pidfile "$mon_pidfile" ceph-mon 30 ceph-mon
}

print_env() {
  cat <<EOF
S3_ENDPOINT=$rgw_url
S3_REGION=us-east-1
S3_ACCESS_KEY_ID=$s3_access_key
S3_SECRET_ACCESS_KEY=$s3_secret_key
S3_FORCE_PATH_STYLE=true
S3_CHECKSUM_MODE=when_required
EOF
}

# Start, stop and reset take a lock, because two concurrent starts of a new cluster
# would each run mkfs on the same directories.
mkdir -p "$CARGOHOLD_RUN_DIR"
case $command in
start | stop | reset)
  exec {lock_fd}>"$CARGOHOLD_RUN_DIR/ceph.lock"
  flock --wait 300 "$lock_fd" || die "timed out after 300 s waiting for $CARGOHOLD_RUN_DIR/ceph.lock"
  ;;
esac

case $command in
start)
  start_cluster
  ;;
stop)
  stop_cluster
  log "stopped"
  ;;
reset)
  stop_cluster
  rm -rf "$ceph_dir" "$run_dir"
  log "deleted the cluster in $ceph_dir"
  ;;
status)
  if pid=$(running_pid "$rgw_pidfile" radosgw) && rgw_responds; then
    echo "ceph-rgw: running (radosgw PID $pid) at $rgw_url"
  else
    echo "ceph-rgw: stopped"
    exit 3
  fi
  ;;
env)
  print_env
  ;;
*)
  usage >&2
  exit 2
  ;;
esac
