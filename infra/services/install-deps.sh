#!/usr/bin/env bash
# Installs the Debian packages that the test services need, skipping those already installed.
# Runs `apt-get update` only when the first install attempt fails, so that a host with
# everything present finishes in well under a second.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "$(readlink -f "$0")")/../lib.sh"
LOG_PREFIX=install-deps

usage() {
  cat <<EOF
Usage: $(basename "$0") [EXTRA_PACKAGE...]

Installs the Debian packages for the Docker engines, Redis and Ceph RGW, plus any
EXTRA_PACKAGE given, with apt-get (requires root). Installed packages are skipped.
EOF
}

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
  usage
  exit 0
fi

packages=(
  # Docker engines: dockerd, its own containerd per engine, runc, and the busybox binary
  # that the smallest test image is built from.
  docker.io containerd runc busybox-static
  # Redis for the job queue (redis-cli checks readiness).
  redis-server redis-tools
  # One-node Ceph cluster with the S3 gateway.
  ceph-mon ceph-osd radosgw ceph-common
  # Tools the service scripts call: curl (readiness), jq (ceph JSON), uuidgen, flock, setsid.
  curl jq uuid-runtime util-linux
  "$@"
)

is_installed() {
  [[ $(dpkg-query --show --showformat '${db:Status-Abbrev}' "$1" 2>/dev/null) == "ii " ]]
}

missing=()
for package in "${packages[@]}"; do
  if ! is_installed "$package"; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi
if ((EUID != 0)); then
  die "missing packages: ${missing[*]}; run this script as root to install them"
fi

export DEBIAN_FRONTEND=noninteractive
apt_install() {
  apt-get install -y --no-install-recommends "${missing[@]}"
}

log "installing ${missing[*]}"
if ! apt_install; then
  # A fresh host may have no package lists, or outdated ones that name removed versions.
  log "apt-get install failed; running apt-get update and retrying"
  apt-get update
  apt_install || die "apt-get install failed for: ${missing[*]}"
fi
log "installed ${missing[*]}"
