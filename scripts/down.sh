#!/usr/bin/env bash
# Stops what scripts/up.sh started, and nothing else: the `clickstream all` named by
# .state/local/clickstream.pid, then the infrastructure under .state/local (scripts/infra.sh stop).
# Data in .state/local is kept; harmless when nothing runs.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$REPO_DIR"

STOP_TIMEOUT_S=20 # the service drains for up to ~10 s on SIGTERM

log() { printf 'down: %s\n' "$*"; }
# shellcheck source=lib/processes.sh
. "$REPO_DIR/scripts/lib/processes.sh"
# shellcheck source=lib/local_stack.sh
. "$REPO_DIR/scripts/lib/local_stack.sh"

if [[ ! -d $STATE_DIR ]]; then
  log "$STATE_REL does not exist, nothing to stop"
  exit 0
fi


exec 8>"$STATE_DIR/.up.lock"
flock -w 300 8 || { log "error: another scripts/up.sh or scripts/down.sh is running on $STATE_REL" >&2; exit 1; }

# --- clickstream ------------------------------------------------------------------------------------

if pid="$(clickstream_pid)"; then
  t0=$(now_ms)
  log "clickstream: stopping (pid $pid, SIGTERM; draining may take ~10 s)"
  terminate "$pid" "$STOP_TIMEOUT_S" clickstream
  log "clickstream: stopped in $(($(now_ms) - t0)) ms"
else
  log "clickstream: not running"
fi
rm -f "$PID_FILE" "$PORTS_FILE"

# --- Infrastructure ---------------------------------------------------------------------------------

scripts/infra.sh stop "$STATE_REL" 8>&- | sed 's/^/  /'
log "done (data kept in $STATE_REL; scripts/up.sh starts it again)"
