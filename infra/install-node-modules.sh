#!/usr/bin/env bash
# Installs the npm workspaces with `npm ci` unless node_modules already matches package-lock.json.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"
LOG_PREFIX=npm
cd "$(dirname "$(readlink -f "$0")")/.."

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  die "Node.js 20 or newer with npm is missing: install it (for example apt-get install nodejs npm) and run again"
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if ((node_major < 20)); then
  die "Node.js $(node --version) is too old: Cargohold needs Node.js 20 or newer"
fi

# The lock file's hash is stored after a successful install, so an unchanged lock file skips npm ci.
stamp=node_modules/.cargohold-lock.sha256
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ -f $stamp && $(cat "$stamp") == "$lock_hash" ]]; then
  log "node_modules matches package-lock.json"
else
  log "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund
  echo "$lock_hash" >"$stamp"
fi
