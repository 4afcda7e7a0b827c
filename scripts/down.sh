#!/usr/bin/env bash
# Stops what scripts/up.sh started, and nothing else: the `clickstream all` named by
# .state/local/clickstream.pid, then the infrastructure under .state/local (scripts/infra.sh stop).
# Data in .state/local is kept; harmless when nothing runs.
#
#   scripts/down.sh            stop, keep the data
#   scripts/down.sh --purge    stop, then delete .state/local and PostgreSQL's folder under /var/lib/clickstream
set -euo pipefail

purge=0
case ${1:-} in
  "") ;;
  --purge) purge=1 ;;
  -h | --help) sed -n '2,7s/^# \{0,1\}//p' "$0"; exit 0 ;;
  *) printf 'down: error: unknown argument %s (see --help)\n' "$1" >&2; exit 2 ;;
esac

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
  # Still deletes PostgreSQL folders whose state directory was deleted (e.g. rm -rf .state/local).
  scripts/infra.sh stop "$STATE_REL" | sed 's/^/  /'
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

if ((purge)); then
  scripts/infra.sh stop "$STATE_REL" --purge 8>&- | sed 's/^/  /'
  rm -rf -- "$STATE_DIR"
  log "done (data deleted: $STATE_REL and PostgreSQL's folder)"
else
  scripts/infra.sh stop "$STATE_REL" 8>&- | sed 's/^/  /'
  log "done (data kept in $STATE_REL; scripts/up.sh starts it again; scripts/down.sh --purge deletes it)"
fi
