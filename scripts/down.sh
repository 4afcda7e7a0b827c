#!/usr/bin/env bash
# Stops what scripts/up.sh started, and nothing else: the `clickstream all` named by
# .state/local/clickstream.pid, then the infrastructure under .state/local (scripts/infra.sh stop).
# Data in .state/local is kept; harmless when nothing runs.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$REPO_DIR"

STATE_REL=.state/local
STATE_DIR="$REPO_DIR/$STATE_REL"
BIN="$REPO_DIR/build/src/clickstream"
PID_FILE="$STATE_DIR/clickstream.pid"
PORTS_FILE="$STATE_DIR/clickstream.ports"
STOP_TIMEOUT_S=20 # the service drains for up to ~10 s on SIGTERM

log() { printf 'down: %s\n' "$*"; }
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

if [[ ! -d $STATE_DIR ]]; then
  log "$STATE_REL does not exist, nothing to stop"
  exit 0
fi

# --- Same checks as scripts/up.sh -------------------------------------------------------------------

proc_alive() {
  local stat
  kill -0 "$1" 2>/dev/null || return 1
  read -r stat <"/proc/$1/stat" 2>/dev/null || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

clickstream_pid() {
  local pid
  [[ -f $PID_FILE ]] || return 1
  pid="$(head -n1 "$PID_FILE" 2>/dev/null)" || return 1
  [[ $pid =~ ^[0-9]+$ ]] && proc_alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$BIN all" || return 1
  [[ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" == "$REPO_DIR" ]] || return 1
  echo "$pid"
}

exec 8>"$STATE_DIR/.up.lock"
flock -w 300 8 || { log "error: another scripts/up.sh or scripts/down.sh is running on $STATE_REL" >&2; exit 1; }

# --- clickstream ------------------------------------------------------------------------------------

if pid="$(clickstream_pid)"; then
  t0=$(now_ms)
  log "clickstream: stopping (pid $pid, SIGTERM; draining may take ~10 s)"
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((t0 + STOP_TIMEOUT_S * 1000))
  while proc_alive "$pid"; do
    if (($(now_ms) > deadline)); then
      log "clickstream: did not exit within ${STOP_TIMEOUT_S}s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      while proc_alive "$pid"; do sleep 0.05; done
      break
    fi
    sleep 0.1
  done
  log "clickstream: stopped in $(($(now_ms) - t0)) ms"
else
  log "clickstream: not running"
fi
rm -f "$PID_FILE" "$PORTS_FILE"

# --- Infrastructure ---------------------------------------------------------------------------------

scripts/infra.sh stop "$STATE_REL" 8>&- | sed 's/^/  /'
log "done (data kept in $STATE_REL; scripts/up.sh starts it again)"
