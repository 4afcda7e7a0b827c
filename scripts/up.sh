#!/usr/bin/env bash
# Sets up and runs the whole clickstream platform locally: the one command for a fresh machine.
#
#   scripts/up.sh          # then: python3 scripts/smoke.py; stop with scripts/down.sh
#
# 1. scripts/setup.sh (Debian packages, Kafka jars; quick when already done)
# 2. CMake + Ninja build of build/src/clickstream (configured once, then incremental)
# 3. scripts/infra.sh start .state/local (PostgreSQL, Redis, Kafka as local processes)
# 4. `clickstream all` in the background, detached; pid in .state/local/clickstream.pid,
#    output appended to .state/local/logs/clickstream.log
# 5. waits until every service's /readyz answers 200, then prints the endpoints
#
# Running it again is harmless: what already runs is left alone (restart with down.sh + up.sh).
#
# Environment (all optional):
#   CLICKSTREAM_PG_PORT / CLICKSTREAM_REDIS_PORT / CLICKSTREAM_KAFKA_PORT   infra ports (5432/6379/9092)
#   CLICKSTREAM_PARTITIONS                                                  partitions of the clicks topic (4)
#   CLICKSTREAM_INGESTION_PORT (8080), CLICKSTREAM_GATEWAY_PORT (8081), CLICKSTREAM_PROCESSOR_PORT (8082),
#   CLICKSTREAM_ANALYTICS_PORT (50051), CLICKSTREAM_ANALYTICS_HEALTH_PORT (8083)
#   CLICKSTREAM_BIND_ADDR                                                   listen address (127.0.0.1)
#   Any other clickstream setting (e.g. CLICKSTREAM_LOG_LEVEL) is passed through to the service.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$REPO_DIR"

READY_TIMEOUT_S=60

log() { printf 'up: %s\n' "$*"; }
# shellcheck source=lib/processes.sh
. "$REPO_DIR/scripts/lib/processes.sh"
# shellcheck source=lib/local_stack.sh
. "$REPO_DIR/scripts/lib/local_stack.sh"
LOG_FILE="$STATE_DIR/logs/clickstream.log"
die() { printf 'up: error: %s\n' "$*" >&2; exit 1; }
T0=$(now_ms)
since() { echo "$(($(now_ms) - $1)) ms"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

check_port_var() {
  # shellcheck disable=SC2015 # die when either test fails
  [[ ${!1} =~ ^[0-9]+$ ]] && ((${!1} > 0 && ${!1} <= 65535)) || die "$1 must be a TCP port 1-65535, got '${!1}'"
}

# Service ports, checked before anything slow happens.
INGESTION_PORT=${CLICKSTREAM_INGESTION_PORT:-8080}
GATEWAY_PORT=${CLICKSTREAM_GATEWAY_PORT:-8081}
PROCESSOR_PORT=${CLICKSTREAM_PROCESSOR_PORT:-8082}
ANALYTICS_PORT=${CLICKSTREAM_ANALYTICS_PORT:-50051}
ANALYTICS_HEALTH_PORT=${CLICKSTREAM_ANALYTICS_HEALTH_PORT:-8083}
for v in INGESTION_PORT GATEWAY_PORT PROCESSOR_PORT ANALYTICS_PORT ANALYTICS_HEALTH_PORT; do
  check_port_var "$v"
done

# --- 0. One up.sh/down.sh at a time -----------------------------------------------------------------

mkdir -p "$STATE_DIR/logs"
exec 8>"$STATE_DIR/.up.lock"
flock -w 300 8 || die "another scripts/up.sh or scripts/down.sh is running on $STATE_REL"

# --- 1. Packages and Kafka jars ---------------------------------------------------------------------

t=$(now_ms)
log "[1/5] setup (scripts/setup.sh)"
scripts/setup.sh 8>&- | sed 's/^/  /'
log "      done in $(since "$t")"

# --- 2. Build ---------------------------------------------------------------------------------------

t=$(now_ms)
log "[2/5] build (build/, target clickstream)"
if [[ ! -f build/build.ninja ]]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo 2>&1 8>&- | sed 's/^/  /' ||
    die "cmake configure failed (output above)"
fi
# Ninja's default parallelism (cores + 2); a no-op build prints one line.
cmake --build build --target clickstream 2>&1 8>&- | sed 's/^/  /' || die "build failed (output above)"
[[ -x $BIN ]] || die "build finished but $BIN is missing"
log "      done in $(since "$t")"

# --- 3. Infrastructure ------------------------------------------------------------------------------

t=$(now_ms)
PG_PORT=${CLICKSTREAM_PG_PORT:-5432}
REDIS_PORT=${CLICKSTREAM_REDIS_PORT:-6379}
KAFKA_PORT=${CLICKSTREAM_KAFKA_PORT:-9092}
PARTITIONS=${CLICKSTREAM_PARTITIONS:-4}
log "[3/5] infrastructure (scripts/infra.sh start $STATE_REL)"
# 8>&-: the servers infra.sh starts live on and must not inherit (and so hold) our lock.
scripts/infra.sh start "$STATE_REL" --pg-port "$PG_PORT" --redis-port "$REDIS_PORT" \
  --kafka-port "$KAFKA_PORT" --partitions "$PARTITIONS" 8>&- | sed 's/^/  /'
log "      done in $(since "$t")"

# --- 4. clickstream all -----------------------------------------------------------------------------

log "[4/5] clickstream all"
if pid="$(clickstream_pid)"; then
  # Already running: report the ports it was started with, not the ones asked for now.
  if [[ -f $PORTS_FILE ]]; then
    requested="$INGESTION_PORT $GATEWAY_PORT $PROCESSOR_PORT $ANALYTICS_PORT $ANALYTICS_HEALTH_PORT"
    read -r INGESTION_PORT GATEWAY_PORT PROCESSOR_PORT ANALYTICS_PORT ANALYTICS_HEALTH_PORT <"$PORTS_FILE"
    [[ $requested == "$INGESTION_PORT $GATEWAY_PORT $PROCESSOR_PORT $ANALYTICS_PORT $ANALYTICS_HEALTH_PORT" ]] ||
      log "      note: running with ports from its start; run scripts/down.sh first to change them"
  fi
  log "      already running (pid $pid), left alone"
  # A rebuild replaces the binary; the running process keeps executing the old one.
  if [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == *"(deleted)" ]]; then
    log "      note: build/src/clickstream was rebuilt since it started; restart with scripts/down.sh && scripts/up.sh"
  fi
else
  rm -f "$PID_FILE" "$PORTS_FILE"
  # Fail fast with a clear message instead of a readiness timeout when a port is taken (e.g. by a
  # clickstream started by hand).
  for v in INGESTION_PORT GATEWAY_PORT PROCESSOR_PORT ANALYTICS_PORT ANALYTICS_HEALTH_PORT; do
    if port_open "${!v}"; then
      die "port ${!v} (CLICKSTREAM_$v) is already in use by another process; stop it or choose another port"
    fi
  done
  echo "$INGESTION_PORT $GATEWAY_PORT $PROCESSOR_PORT $ANALYTICS_PORT $ANALYTICS_HEALTH_PORT" >"$PORTS_FILE"
  printf '\n=== %s: scripts/up.sh starting clickstream all ===\n' "$(date -u +%FT%TZ)" >>"$LOG_FILE"
  # The env file (DATABASE_URL, KAFKA_BROKER, REDIS_ADDR, topics) is sourced in the child only.
  # setsid + nohup: own session, outlives this script and the terminal. The inner shell records its
  # own pid and then execs, so the pid file names the clickstream process itself.
  (
    # shellcheck disable=SC1091
    . "$STATE_DIR/env"
    export CLICKSTREAM_INGESTION_PORT=$INGESTION_PORT CLICKSTREAM_GATEWAY_PORT=$GATEWAY_PORT \
      CLICKSTREAM_PROCESSOR_PORT=$PROCESSOR_PORT CLICKSTREAM_ANALYTICS_PORT=$ANALYTICS_PORT \
      CLICKSTREAM_ANALYTICS_HEALTH_PORT=$ANALYTICS_HEALTH_PORT
    # The gateway calls the analytics service of this process unless told otherwise.
    export CLICKSTREAM_ANALYTICS_ADDR=${CLICKSTREAM_ANALYTICS_ADDR:-127.0.0.1:$ANALYTICS_PORT}
    # A local development stack listens on loopback only unless asked otherwise.
    export CLICKSTREAM_BIND_ADDR=${CLICKSTREAM_BIND_ADDR:-127.0.0.1}
    # shellcheck disable=SC2016 # expanded by the inner shell
    exec setsid nohup bash -c 'echo $$ >"$0" && exec "$@"' "$PID_FILE" "$BIN" all
  ) >>"$LOG_FILE" 2>&1 </dev/null 8>&- &
  # The pid file appears once the inner shell runs (milliseconds).
  for _ in {1..100}; do
    [[ -s $PID_FILE ]] && break
    sleep 0.02
  done
  pid="$(head -n1 "$PID_FILE" 2>/dev/null || true)"
  [[ -n $pid ]] || die "clickstream did not start (log: $STATE_REL/logs/clickstream.log)"
  log "      started (pid $pid)"
fi

# --- 5. Readiness -----------------------------------------------------------------------------------

t=$(now_ms)
log "[5/5] waiting for /readyz on :$INGESTION_PORT :$GATEWAY_PORT :$PROCESSOR_PORT :$ANALYTICS_HEALTH_PORT (up to ${READY_TIMEOUT_S}s)"
HEALTH_PORTS=("$INGESTION_PORT" "$GATEWAY_PORT" "$PROCESSOR_PORT" "$ANALYTICS_HEALTH_PORT")
ready_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$1/readyz" || true; }
deadline=$(($(now_ms) + READY_TIMEOUT_S * 1000))
while :; do
  not_ready=()
  for p in "${HEALTH_PORTS[@]}"; do
    [[ "$(ready_code "$p")" == 200 ]] || not_ready+=("$p")
  done
  ((${#not_ready[@]} == 0)) && break
  if ! proc_alive "$pid"; then
    printf 'up: error: clickstream (pid %s) exited; last lines of %s:\n' "$pid" "$STATE_REL/logs/clickstream.log" >&2
    tail -n 40 "$LOG_FILE" >&2
    rm -f "$PID_FILE" "$PORTS_FILE"
    exit 1
  fi
  if (($(now_ms) > deadline)); then
    printf 'up: error: not ready after %ss:\n' "$READY_TIMEOUT_S" >&2
    for p in "${not_ready[@]}"; do
      printf '  :%s/readyz -> %s\n' "$p" "$(curl -s --max-time 2 "http://127.0.0.1:$p/readyz" || echo 'no answer')" >&2
    done
    printf 'last lines of %s:\n' "$STATE_REL/logs/clickstream.log" >&2
    tail -n 40 "$LOG_FILE" >&2
    printf '(clickstream pid %s is left running for inspection; scripts/down.sh stops everything)\n' "$pid" >&2
    exit 1
  fi
  sleep 0.2
done
log "      ready in $(since "$t")"

example_id="$(cat /proc/sys/kernel/random/uuid)"
cat <<EOF

clickstream is up in $(since "$T0") (pid $pid)
  ingest   POST http://127.0.0.1:$INGESTION_PORT/ingest
  query    GET  http://127.0.0.1:$GATEWAY_PORT/analytics/events?user_id=...&page_url=...
  dashboard     http://127.0.0.1:$GATEWAY_PORT/dashboard/
  tracker       http://127.0.0.1:$INGESTION_PORT${CLICKSTREAM_TRACKER_PATH-/tracker.js}
  API docs      /openapi.json on :$INGESTION_PORT and :$GATEWAY_PORT
  gRPC     127.0.0.1:$ANALYTICS_PORT  (analytics.AnalyticsService/GetEventCount)
  health   /healthz and /readyz on :$INGESTION_PORT :$GATEWAY_PORT :$PROCESSOR_PORT :$ANALYTICS_HEALTH_PORT

Try it:
  curl -sS -X POST http://127.0.0.1:$INGESTION_PORT/ingest -H 'Content-Type: application/json' \\
    -d '{"event_id":"$example_id","user_id":"u1","event_type":"click","page_url":"/home"}'
  curl -sS 'http://127.0.0.1:$GATEWAY_PORT/analytics/events?user_id=u1&page_url=%2Fhome'
  python3 scripts/smoke.py       # end-to-end check

Logs:  $STATE_REL/logs/clickstream.log  (infrastructure: postgres.log, redis.log, kafka.log next to it)
Env:   source $STATE_REL/env   (DATABASE_URL, KAFKA_BROKER, REDIS_ADDR, ...)
Stop:  scripts/down.sh
EOF
