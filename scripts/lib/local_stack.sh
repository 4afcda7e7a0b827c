# Where scripts/up.sh keeps the local stack, and how it and scripts/down.sh find the clickstream it started.
# Callers set REPO_DIR and source lib/processes.sh first.
# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are for the scripts that source this file

STATE_REL=.state/local
STATE_DIR="$REPO_DIR/$STATE_REL"
BIN="$REPO_DIR/build/src/clickstream"
PID_FILE="$STATE_DIR/clickstream.pid"
PORTS_FILE="$STATE_DIR/clickstream.ports" # the service ports the running clickstream was started with

# Prints the pid from the pid file if it names a live `clickstream all` started by up.sh from this
# checkout (guards against pid reuse: never adopt or signal someone else's process).
clickstream_pid() {
  pid_alive "$PID_FILE" "$BIN all" "$REPO_DIR" && head -n1 "$PID_FILE"
}
