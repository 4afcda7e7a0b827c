#!/usr/bin/env bash
# Runs clickstream's infrastructure (PostgreSQL 15, Redis, Kafka in KRaft mode) as plain local
# processes whose data, logs and pid files live under one state directory, except PostgreSQL's
# directory, which lives under /var/lib/clickstream (see "PostgreSQL's directory" below). Used by the
# local run command and by the test harness (which also stops/starts single components to inject faults).
#
# Everything started here is tracked by pid file (or pg_ctl's data directory), and stop only ever
# signals those exact processes, so several state directories can run side by side on other ports.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
PG_BIN=/usr/lib/postgresql/15/bin
KAFKA_LIBS="$REPO_DIR/.state/kafka/libs"
KAFKA_LOG4J_CONF="$REPO_DIR/scripts/kafka/log4j2.properties"
INIT_SQL="$REPO_DIR/infra/init.sql"
# Where PostgreSQL's per-state-dir folders live: a place the postgres user can always reach.
PG_BASE=/var/lib/clickstream
COMPONENTS=(postgres redis kafka)

PG_DEFAULT_PORT=5432
REDIS_DEFAULT_PORT=6379
KAFKA_DEFAULT_PORT=9092
DEFAULT_PARTITIONS=4

usage() {
  cat <<EOF
Usage:
  $0 start STATE_DIR [--pg-port N] [--redis-port N] [--kafka-port N] [--partitions N]
  $0 stop STATE_DIR [--purge]
  $0 start-one STATE_DIR postgres|redis|kafka
  $0 stop-one STATE_DIR postgres|redis|kafka
  $0 status STATE_DIR

start       Starts PostgreSQL, Redis and Kafka under STATE_DIR (components already running are left
            alone) and writes STATE_DIR/env, a sourceable file with DATABASE_URL, KAFKA_BROKER,
            REDIS_ADDR, KAFKA_TOPIC, CLICKSTREAM_DLQ_TOPIC and CLICKSTREAM_* variables.
            Ports default to 5432/6379/9092, or to the ports recorded in STATE_DIR/env by an
            earlier start; 0 picks a free port. --partitions (default 4) sizes the clicks topic.
            Topic names come from \$KAFKA_TOPIC / \$CLICKSTREAM_DLQ_TOPIC (default clicks, clicks.dlq).
stop        Stops what start started under STATE_DIR; never touches other processes. Data is kept;
            --purge deletes it too (STATE_DIR's infrastructure files and PostgreSQL's folder).
start-one   Starts one component on the port recorded in STATE_DIR/env (after stop-one).
stop-one    Stops one component, keeping its data and port, e.g. to inject a fault.
status      One line per component: running/stopped and port.

Kafka jars come from .state/kafka/libs in the repository (run scripts/setup.sh first).
PostgreSQL runs as the postgres user, so its data, socket and log live in a folder of $PG_BASE
(STATE_DIR/postgres links to it). start and stop delete the folders whose state directory is gone.
EOF
}

log() { printf '%s\n' "$*"; }
die() { printf 'infra: error: %s\n' "$*" >&2; exit 1; }

# Process helpers (now_ms, proc_alive, pid_alive, terminate), shared with up.sh and down.sh.
# shellcheck source=lib/processes.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/processes.sh"

# --- State directory layout ------------------------------------------------------------------------

# Sets the path variables for state directory $1. With $2 = create it is created if missing;
# otherwise a missing directory returns 1 (nothing was ever started there).
set_state_dir() {
  [[ -n ${1:-} ]] || { usage >&2; exit 2; }
  if [[ ${2:-} == create ]]; then
    mkdir -p "$1"
  elif [[ ! -d $1 ]]; then
    return 1
  fi
  # Physical absolute path: it ends up in config files, in the env file and in /proc comparisons.
  STATE_DIR="$(cd "$1" && pwd -P)"
  ENV_FILE="$STATE_DIR/env"
  LOG_DIR="$STATE_DIR/logs"
  REDIS_DIR="$STATE_DIR/redis"
  REDIS_PIDFILE="$REDIS_DIR/redis.pid"
  REDIS_LOG="$LOG_DIR/redis.log"
  KAFKA_DIR="$STATE_DIR/kafka"
  KAFKA_DATA="$KAFKA_DIR/data"
  KAFKA_PROPS="$KAFKA_DIR/server.properties"
  KAFKA_PIDFILE="$KAFKA_DIR/kafka.pid"
  KAFKA_TOPICS_DONE="$KAFKA_DIR/topics.created"
  KAFKA_LOG="$LOG_DIR/kafka.log"
  mkdir -p "$LOG_DIR"
  resolve_pg_dir
}

# Serialises start/stop on one state directory (e.g. a test's fault injection racing its teardown).
# Every long-lived process we launch must get `9>&-`: an inherited descriptor would keep the lock
# held for the lifetime of the server.
lock_state_dir() {
  exec 9>"$STATE_DIR/.infra.lock"
  flock -w 300 9 || die "timed out waiting for another infra.sh on $STATE_DIR"
}

# Reads one variable from the env file without letting the caller's environment leak in.
env_get() {
  [[ -f $ENV_FILE ]] || return 0
  # shellcheck disable=SC2016 # expanded by the inner shell
  env -i bash -c 'set +u; . "$1" >/dev/null 2>&1; printf "%s" "${!2-}"' _ "$ENV_FILE" "$1"
}

# --- Processes and ports ---------------------------------------------------------------------------

# Something accepts TCP connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Sets REPLY to a free TCP port that is not among the ports already chosen in this run ($@). It comes
# from below the kernel's ephemeral range, never from bind(0): a port from that range can be taken a
# moment later as the local end of an outgoing connection, and the server meant to listen there then
# fails to start.
pick_free_port() {
  local _ port low
  read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || low=32768
  ((low > 11000)) || low=32768
  for _ in {1..200}; do
    port=$((10000 + (RANDOM * 32768 + RANDOM) % (low - 10000)))
    [[ " $* " == *" $port "* ]] && continue
    if command -v python3 >/dev/null; then
      python3 -c 'import socket, sys; socket.socket().bind(("0.0.0.0", int(sys.argv[1])))' "$port" \
        2>/dev/null || continue
    else
      port_open "$port" && continue
    fi
    REPLY=$port
    return 0
  done
  die "could not find a free TCP port"
}

# --- PostgreSQL ------------------------------------------------------------------------------------

# initdb and pg_ctl refuse to run as root. Run from / so postgres does not complain that it cannot
# enter root's working directory.
as_postgres() { (cd / && runuser -u postgres -- "$@") 9>&-; }

# --- PostgreSQL's directory ------------------------------------------------------------------------
#
# The postgres user must be able to traverse every parent of its data directory, and a clone in
# /root (mode 700) does not allow that; we never chmod directories we do not own. So, for every state
# directory, PostgreSQL's data directory, socket directory and log live in a folder
# PG_BASE/<sha256 of STATE_DIR's physical path, 16 digits>-<STATE_DIR's basename>, owned by postgres,
# mode 700. STATE_DIR/postgres is a symlink to it, and its file state-dir (root's) names the state
# directory it belongs to; STATE_DIR/logs/postgres.log links to the log.
#
# A folder is claimed while the state directory it names exists and links to it. An unclaimed folder
# (its state directory was deleted, deleted and recreated, or moved) is stale: start and stop delete
# such folders, stopping a PostgreSQL still running in one first (gc_pg_dirs). A state directory made
# before this layout keeps PostgreSQL in STATE_DIR/postgres until its next start moves it out.

# Prints the folder name for STATE_DIR.
pg_dir_name() {
  local base hash
  base="$(basename "$STATE_DIR")"
  base=${base//[^A-Za-z0-9._-]/_}
  hash="$(printf '%s' "$STATE_DIR" | sha256sum)"
  printf '%s-%s' "${hash:0:16}" "${base:0:40}"
}

# Folder $1 records state directory $2 as its owner.
pg_dir_owned_by() { [[ -f $1/state-dir && "$(<"$1/state-dir")" == "$2" ]]; }

# Folder $1's state directory exists and links to it.
pg_dir_claimed() {
  local owner
  [[ -f $1/state-dir ]] || return 1
  owner="$(<"$1/state-dir")"
  [[ -n $owner && -L $owner/postgres && "$(readlink "$owner/postgres")" == "$1" ]]
}

# Sets PG_DIR, PG_DATA, PG_RUN and PG_LOG, and PG_LAYOUT: external (STATE_DIR/postgres links to a
# folder this state directory owns), legacy (STATE_DIR/postgres is a real directory, from before this
# layout) or none (nothing yet; PG_DIR is where start will create it).
resolve_pg_dir() {
  local link="$STATE_DIR/postgres" target
  PG_LAYOUT=none
  PG_DIR="$PG_BASE/$(pg_dir_name)"
  if [[ -L $link ]]; then
    target="$(readlink "$link")"
    if pg_dir_owned_by "$target" "$STATE_DIR"; then
      PG_DIR=$target
      PG_LAYOUT=external
    fi
  elif [[ -d $link ]]; then
    PG_DIR=$link
    PG_LAYOUT=legacy
  fi
  PG_DATA="$PG_DIR/data"
  PG_RUN="$PG_DIR/run"
  PG_LOG="$PG_DIR/postgres.log"
  [[ $PG_LAYOUT != legacy ]] || PG_LOG="$LOG_DIR/postgres.log"
}

# Stops the PostgreSQL server of data directory $1, if one runs there.
pg_stop_data() {
  local data=$1 pid
  [[ -f $data/PG_VERSION ]] && as_postgres "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1 || return 0
  pid="$(head -n1 "$data/postmaster.pid" 2>/dev/null || true)"
  # Fast mode: roll back open transactions and shut down cleanly, without waiting for clients.
  if ! as_postgres "$PG_BIN/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null 2>&1; then
    # Only kill the postmaster if it is really this data directory's (guards against pid reuse).
    if [[ $pid =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$data"; then
      terminate "$pid" 0 postgres
    fi
  fi
}

# Deletes folder $1 of PG_BASE, stopping its PostgreSQL first if one still runs there.
remove_pg_dir() {
  local dir=$1
  [[ $dir == "$PG_BASE"/[!.]* && $(dirname "$dir") == "$PG_BASE" && $dir != *..* ]] ||
    die "postgres: refusing to delete $dir (not a folder of $PG_BASE)"
  pg_stop_data "$dir/data"
  rm -rf -- "$dir"
}

# Deletes every unclaimed folder of PG_BASE (see above), and temporary ones left by a crash.
# Serialised by a lock of its own: several state directories may start or stop at once.
gc_pg_dirs() {
  [[ -d $PG_BASE ]] || return 0
  local dir
  {
    flock -w 120 7 || { log "postgres: warning: $PG_BASE is locked; stale folders not cleaned"; return 0; }
    for dir in "$PG_BASE"/*; do
      [[ -d $dir && ! -L $dir && -f $dir/state-dir ]] || continue
      pg_dir_claimed "$dir" && continue
      log "postgres: deleting $dir (its state directory $(<"$dir/state-dir") is gone or no longer links to it)"
      remove_pg_dir "$dir"
    done
    find "$PG_BASE" -mindepth 1 -maxdepth 1 -name '.new-*' -mmin +1440 -exec rm -rf -- {} + 2>/dev/null || true
  } 7>"$PG_BASE/.gc.lock"
}

# Creates (or moves a legacy STATE_DIR/postgres to) this state directory's folder; postgres is stopped.
prepare_pg_dir() {
  local target tmp
  [[ -d $PG_BASE ]] || mkdir -p -m 755 "$PG_BASE"
  if [[ $PG_LAYOUT != external ]]; then
    # Under gc_pg_dirs' lock, so that no cleanup deletes the same folder concurrently.
    {
      flock -w 120 7 || die "postgres: timed out waiting for the lock of $PG_BASE"
      target="$PG_BASE/$(pg_dir_name)"
      # Left by an earlier state directory of the same path (deleted and recreated since).
      [[ ! -e $target && ! -L $target ]] || remove_pg_dir "$target"
      tmp="$(mktemp -d "$PG_BASE/.new-XXXXXX")"
      if [[ $PG_LAYOUT == legacy ]]; then
        log "postgres: moving its data from $PG_DIR to $target (reachable by the postgres user)"
        [[ ! -d $PG_DIR/data ]] || mv -T "$PG_DIR/data" "$tmp/data"
        [[ ! -f $PG_LOG || -L $PG_LOG ]] || mv -T "$PG_LOG" "$tmp/postgres.log"
        rm -rf -- "$PG_DIR"
      fi
      printf '%s\n' "$STATE_DIR" >"$tmp/state-dir"
      # Link first, then give the folder its name: it is never seen unclaimed under that name.
      ln -sfn "$target" "$STATE_DIR/postgres"
      mv -T "$tmp" "$target"
    } 7>"$PG_BASE/.gc.lock"
    resolve_pg_dir
    [[ $PG_LAYOUT == external ]] || die "postgres: could not set up $target"
  fi
  mkdir -p "$PG_DATA" "$PG_RUN"
  chown postgres:postgres "$PG_DIR" "$PG_DATA" "$PG_RUN"
  chmod 700 "$PG_DIR" "$PG_DATA"
  ensure_postgres_can_reach "$PG_DIR"
  # pg_ctl opens the log as postgres.
  touch "$PG_LOG"
  chown postgres:postgres "$PG_LOG"
  ln -sfn "$PG_LOG" "$LOG_DIR/postgres.log"
}

# --- PostgreSQL ------------------------------------------------------------------------------------

pg_running() {
  [[ $PG_LAYOUT != none && -f $PG_DATA/PG_VERSION ]] &&
    as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

pg_pid() { [[ -f $PG_DATA/postmaster.pid ]] && head -n1 "$PG_DATA/postmaster.pid"; }

# The postgres server runs as postgres, so every directory down to its folder must be traversable by
# that user. PG_BASE is fixed if we own it (e.g. created under a restrictive umask); any other blocking
# parent is reported rather than silently chmod-ed.
ensure_postgres_can_reach() {
  local target=$1
  as_postgres test -x "$target" && return 0
  local d="" part
  local IFS=/
  for part in ${target#/}; do
    d="$d/$part"
    as_postgres test -x "$d" && continue
    if [[ $d == "$PG_BASE" && -O $d ]]; then
      chmod a+x "$d"
    else
      die "postgres: user 'postgres' cannot traverse $d (mode $(stat -c %A "$d")); PostgreSQL runs as postgres with its data under $PG_BASE, so make $d traversable (chmod o+x)"
    fi
  done
}

start_postgres() {
  local port=$1 t0 sock_dirs
  if pg_running; then
    log "postgres: already running on 127.0.0.1:$port (pid $(pg_pid))"
    return 0
  fi
  port_open "$port" && die "postgres: 127.0.0.1:$port is already in use by another process"
  t0=$(now_ms)
  # Folder, ownership and log link: done by start_components (prepare_pg_dir) before the env file.

  if [[ ! -f $PG_DATA/PG_VERSION ]]; then
    # --no-sync only skips fsync of the freshly created files (a crash right now just means
    # re-running initdb); the server itself keeps fsync on. C collation with UTF8 encoding:
    # predictable ordering and independent of the host's locale settings.
    as_postgres "$PG_BIN/initdb" -D "$PG_DATA" -A trust -U postgres -E UTF8 --locale=C --no-sync \
      >>"$PG_LOG" 2>&1 || die "postgres: initdb failed (see $PG_LOG)"
    echo "include_if_exists = 'clickstream.conf'" >>"$PG_DATA/postgresql.conf"
  fi

  # Unix socket paths are limited to 107 bytes; a deep state dir would stop the server from
  # starting. Clients use TCP anyway, so in that case go without the socket.
  sock_dirs=$PG_RUN
  if ((${#PG_RUN} + 17 > 107)); then
    log "postgres: $PG_RUN is too long for a unix socket path; listening on TCP only"
    sock_dirs=""
  fi
  # Rewritten on every start so the port can change between runs; fsync stays at its default (on)
  # because the pipeline's effectively-once counting relies on committed transactions surviving.
  cat >"$PG_DATA/clickstream.conf" <<EOF
# Written by scripts/infra.sh on every start.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '${sock_dirs//\'/\'\'}'
shared_buffers = 128MB
max_connections = 100
EOF
  chown postgres:postgres "$PG_DATA/clickstream.conf"

  as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 start >/dev/null ||
    { tail -n 20 "$PG_LOG" >&2; die "postgres: failed to start (log: $PG_LOG)"; }

  # Role and database for the services; psql as root over loopback TCP (trust authentication).
  local psql=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port")
  if [[ -z "$("${psql[@]}" -U postgres -d postgres -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'clickstream'")" ]]; then
    "${psql[@]}" -U postgres -d postgres -c "CREATE ROLE clickstream LOGIN"
  fi
  if [[ -z "$("${psql[@]}" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'clickstream'")" ]]; then
    "${psql[@]}" -U postgres -d postgres -c "CREATE DATABASE clickstream OWNER clickstream"
  fi
  # init.sql is idempotent and applied at every start, so schema additions reach existing state dirs.
  # Notices ("relation already exists, skipping") are noise here.
  PGOPTIONS='-c client_min_messages=warning' "${psql[@]}" -U clickstream -d clickstream -f "$INIT_SQL" ||
    die "postgres: applying $INIT_SQL failed"

  log "postgres: started on 127.0.0.1:$port in $(($(now_ms) - t0)) ms (log: $PG_LOG)"
}

stop_postgres() {
  if ! pg_running; then
    log "postgres: not running"
    return 0
  fi
  pg_stop_data "$PG_DATA"
  log "postgres: stopped"
}

# --- Redis -----------------------------------------------------------------------------------------

redis_running() { pid_alive "$REDIS_PIDFILE" redis-server "$REDIS_DIR"; }

start_redis() {
  local port=$1 t0 deadline
  if redis_running; then
    log "redis: already running on 127.0.0.1:$port (pid $(cat "$REDIS_PIDFILE"))"
    return 0
  fi
  port_open "$port" && die "redis: 127.0.0.1:$port is already in use by another process"
  t0=$(now_ms)
  mkdir -p "$REDIS_DIR"
  rm -f "$REDIS_PIDFILE"
  # Cache only: no snapshots and no AOF, so a restart starts empty (like a fresh cache node would).
  redis-server --port "$port" --bind 127.0.0.1 --daemonize yes \
    --pidfile "$REDIS_PIDFILE" --dir "$REDIS_DIR" --logfile "$REDIS_LOG" \
    --save "" --appendonly no 9>&- ||
    die "redis: redis-server failed to start (log: $REDIS_LOG)"
  # --daemonize returns before the server listens; wait until it answers.
  deadline=$(($(now_ms) + 10000))
  until [[ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" == PONG ]] && redis_running; do
    if (($(now_ms) > deadline)); then
      tail -n 20 "$REDIS_LOG" >&2
      die "redis: not answering on 127.0.0.1:$port after 10 s (log: $REDIS_LOG)"
    fi
    sleep 0.05
  done
  log "redis: started on 127.0.0.1:$port in $(($(now_ms) - t0)) ms (log: $REDIS_LOG)"
}

stop_redis() {
  if ! redis_running; then
    log "redis: not running"
    rm -f "$REDIS_PIDFILE"
    return 0
  fi
  terminate "$(cat "$REDIS_PIDFILE")" 10 redis
  rm -f "$REDIS_PIDFILE"
  log "redis: stopped"
}

# --- Kafka -----------------------------------------------------------------------------------------

# The broker's command line names this state dir's server.properties, which identifies it uniquely.
kafka_running() { pid_alive "$KAFKA_PIDFILE" "$KAFKA_PROPS"; }

# Short-lived Kafka CLI tools: client JIT and serial GC start faster; logs go to stderr at WARN.
kafka_tool() {
  java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dlog4j2.configurationFile="$KAFKA_LOG4J_CONF" \
    -Dclickstream.log.level=WARN -Dclickstream.log.target=SYSTEM_ERR \
    -cp "$KAFKA_LIBS/*" "$@"
}

check_kafka_libs() {
  compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null ||
    die "kafka: no Kafka jars in $KAFKA_LIBS; run scripts/setup.sh first"
}

write_kafka_properties() {
  local port=$1 ctrl_port=$2
  cat >"$KAFKA_PROPS" <<EOF
# Written by scripts/infra.sh on every start. Single-node KRaft: this process is both broker and
# the only controller.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$ctrl_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$ctrl_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=$KAFKA_DATA

# One broker: internal topics cannot be replicated.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Fewer internal partitions than the defaults (50): creating them dominates the first
# consumer-group (or transactional producer) start on a small machine.
offsets.topic.num.partitions=4
transaction.state.log.num.partitions=4
# Consumers in tests should get their partitions immediately, not after the 3 s default delay.
group.initial.rebalance.delay.ms=0

# Topics are created explicitly by infra.sh with their intended partition counts; a typo in a topic
# name must fail rather than silently create a one-partition topic.
num.partitions=1
auto.create.topics.enable=false
EOF
}

start_kafka() {
  local port=$1 ctrl_port=$2 t0 cluster_id log_offset deadline
  if kafka_running; then
    log "kafka: already running on 127.0.0.1:$port (pid $(cat "$KAFKA_PIDFILE"))"
    ensure_topics "$port"
    return 0
  fi
  check_kafka_libs
  port_open "$port" && die "kafka: 127.0.0.1:$port is already in use by another process"
  port_open "$ctrl_port" && die "kafka: controller port 127.0.0.1:$ctrl_port is already in use"
  t0=$(now_ms)
  mkdir -p "$KAFKA_DATA"
  rm -f "$KAFKA_PIDFILE"
  write_kafka_properties "$port" "$ctrl_port"

  # Format the log directory once. No --standalone: the quorum is given statically by
  # controller.quorum.voters.
  if [[ ! -f $KAFKA_DATA/meta.properties ]]; then
    cluster_id="$(kafka_tool kafka.tools.StorageTool random-uuid 2>>"$KAFKA_LOG")" ||
      die "kafka: StorageTool random-uuid failed (log: $KAFKA_LOG)"
    kafka_tool kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_PROPS" >>"$KAFKA_LOG" 2>&1 ||
      { tail -n 20 "$KAFKA_LOG" >&2; die "kafka: formatting $KAFKA_DATA failed (log: $KAFKA_LOG)"; }
    rm -f "$KAFKA_TOPICS_DONE"
  fi

  # The log is appended to across restarts (useful after fault injection); readiness is judged
  # only on what this run writes.
  touch "$KAFKA_LOG"
  log_offset=$(stat -c %s "$KAFKA_LOG")
  # setsid: its own session, so it outlives this script and a terminal's hangup or Ctrl-C. The inner
  # shell records its own pid and then execs java, so the pid file names the JVM itself.
  (
    cd "$KAFKA_DIR"
    # shellcheck disable=SC2016 # expanded by the inner shell
    exec setsid nohup bash -c 'echo $$ >"$0" && exec "$@"' "$KAFKA_PIDFILE" \
      java -Xms256m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$KAFKA_LOG4J_CONF" \
      -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_PROPS"
  ) >>"$KAFKA_LOG" 2>&1 </dev/null 9>&- &

  # Ready means the broker finished startup (registered and unfenced with the controller), which
  # its "Kafka Server started" log line marks; merely accepting connections is too early, topic
  # creation then fails with "only 0 broker(s) are registered".
  deadline=$(($(now_ms) + 60000))
  until port_open "$port" && tail -c +"$((log_offset + 1))" "$KAFKA_LOG" | grep -q 'Kafka Server started'; do
    if (($(now_ms) > deadline)) || { [[ -s $KAFKA_PIDFILE ]] && ! kafka_running; }; then
      tail -n 30 "$KAFKA_LOG" >&2
      kafka_running && terminate "$(cat "$KAFKA_PIDFILE")" 10 kafka
      die "kafka: broker not ready on 127.0.0.1:$port (log: $KAFKA_LOG)"
    fi
    sleep 0.2
  done
  log "kafka: started on 127.0.0.1:$port (controller :$ctrl_port) in $(($(now_ms) - t0)) ms (log: $KAFKA_LOG)"
  ensure_topics "$port"
}

# Creates the topics unless this state dir already did so with the same names and partition counts
# (each TopicCommand is a JVM start, seconds on a small machine). Both run in parallel for the same
# reason. --if-not-exists keeps re-creation harmless; an existing topic keeps its partition count.
ensure_topics() {
  local port=$1 spec="$TOPIC:$PARTITIONS $DLQ_TOPIC:1" t0 out_main out_dlq pid_main pid_dlq ok=1
  [[ -f $KAFKA_TOPICS_DONE && "$(cat "$KAFKA_TOPICS_DONE")" == "$spec" ]] && return 0
  t0=$(now_ms)
  out_main="$KAFKA_DIR/topic-main.out"
  out_dlq="$KAFKA_DIR/topic-dlq.out"
  create_topic() {
    kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$port" \
      --create --if-not-exists --topic "$1" --partitions "$2" --replication-factor 1
  }
  create_topic "$TOPIC" "$PARTITIONS" >"$out_main" 2>&1 &
  pid_main=$!
  create_topic "$DLQ_TOPIC" 1 >"$out_dlq" 2>&1 &
  pid_dlq=$!
  wait "$pid_main" || { cat "$out_main" >&2; ok=0; }
  wait "$pid_dlq" || { cat "$out_dlq" >&2; ok=0; }
  rm -f "$out_main" "$out_dlq"
  ((ok)) || die "kafka: creating topics $TOPIC / $DLQ_TOPIC failed"
  echo "$spec" >"$KAFKA_TOPICS_DONE"
  log "kafka: topics $TOPIC ($PARTITIONS partitions), $DLQ_TOPIC (1) ready in $(($(now_ms) - t0)) ms"
}

stop_kafka() {
  if ! kafka_running; then
    log "kafka: not running"
    rm -f "$KAFKA_PIDFILE"
    return 0
  fi
  # SIGTERM runs the broker's controlled shutdown (flushes logs, writes the clean-shutdown marker).
  terminate "$(cat "$KAFKA_PIDFILE")" 30 kafka
  rm -f "$KAFKA_PIDFILE"
  log "kafka: stopped"
}

# --- Configuration: ports and topics ---------------------------------------------------------------

component_running() {
  case $1 in
    postgres) pg_running ;;
    redis) redis_running ;;
    kafka) kafka_running ;;
  esac
}

# Sets REPLY to the port for component $1. $2 is the --*-port option ("" when not given), $3 the
# default, $4 the env file key, $5 ports already chosen in this run. A running component keeps the
# port recorded in the env file; otherwise an explicit port wins, then the recorded one (if still
# free, so restarts keep URLs stable), then 0 = a free port, else the default.
resolve_port() {
  local comp=$1 requested=$2 default=$3 key=$4 taken=$5 saved
  saved="$(env_get "$key")"
  if [[ -n $saved ]] && component_running "$comp"; then
    [[ -z $requested || $requested == 0 || $requested == "$saved" ]] ||
      log "$comp: already running on port $saved; ignoring --$comp-port $requested (stop it first)"
    REPLY=$saved
  elif [[ -n $requested && $requested != 0 ]]; then
    REPLY=$requested
  elif [[ -n $saved ]] && ! port_open "$saved"; then
    REPLY=$saved
  elif [[ $requested == 0 ]]; then
    # shellcheck disable=SC2086 # $taken is a space-separated list of ports
    pick_free_port $taken
  elif [[ -n $saved ]]; then
    REPLY=$saved # still busy: start_<comp> reports who is in the way
  else
    REPLY=$default
  fi
}

write_env_file() {
  local tmp="$ENV_FILE.tmp.$$"
  {
    echo "# Written by scripts/infra.sh start; source it to point clickstream at this infrastructure."
    printf 'export %s=%q\n' \
      DATABASE_URL "postgresql://clickstream@127.0.0.1:$PG_PORT/clickstream" \
      KAFKA_BROKER "127.0.0.1:$KAFKA_PORT" \
      REDIS_ADDR "127.0.0.1:$REDIS_PORT" \
      KAFKA_TOPIC "$TOPIC" \
      CLICKSTREAM_DLQ_TOPIC "$DLQ_TOPIC" \
      CLICKSTREAM_PG_PORT "$PG_PORT" \
      CLICKSTREAM_REDIS_PORT "$REDIS_PORT" \
      CLICKSTREAM_KAFKA_PORT "$KAFKA_PORT" \
      CLICKSTREAM_KAFKA_CONTROLLER_PORT "$KAFKA_CTRL_PORT" \
      CLICKSTREAM_KAFKA_PARTITIONS "$PARTITIONS" \
      CLICKSTREAM_STATE_DIR "$STATE_DIR" \
      CLICKSTREAM_PG_BIN "$PG_BIN" \
      CLICKSTREAM_PG_DATA "$PG_DATA" \
      CLICKSTREAM_KAFKA_LIBS "$KAFKA_LIBS"
  } >"$tmp"
  mv "$tmp" "$ENV_FILE"
}

# Resolves ports, topics and partitions for a start, from options ($1..$4, "" = not given), the
# caller's environment (topic names), the env file of an earlier start, and the defaults.
resolve_config() {
  local opt_pg=$1 opt_redis=$2 opt_kafka=$3 opt_partitions=$4 saved_ctrl
  resolve_port postgres "$opt_pg" "$PG_DEFAULT_PORT" CLICKSTREAM_PG_PORT ""
  PG_PORT=$REPLY
  resolve_port redis "$opt_redis" "$REDIS_DEFAULT_PORT" CLICKSTREAM_REDIS_PORT "$PG_PORT"
  REDIS_PORT=$REPLY
  resolve_port kafka "$opt_kafka" "$KAFKA_DEFAULT_PORT" CLICKSTREAM_KAFKA_PORT "$PG_PORT $REDIS_PORT"
  KAFKA_PORT=$REPLY
  # The controller port is internal: keep the recorded one while Kafka runs or while it is free,
  # otherwise any free port.
  saved_ctrl="$(env_get CLICKSTREAM_KAFKA_CONTROLLER_PORT)"
  if [[ -n $saved_ctrl ]] && { kafka_running || ! port_open "$saved_ctrl"; } &&
    [[ $saved_ctrl != "$PG_PORT" && $saved_ctrl != "$REDIS_PORT" && $saved_ctrl != "$KAFKA_PORT" ]]; then
    KAFKA_CTRL_PORT=$saved_ctrl
  else
    pick_free_port "$PG_PORT" "$REDIS_PORT" "$KAFKA_PORT"
    KAFKA_CTRL_PORT=$REPLY
  fi

  local saved_topic saved_dlq saved_partitions
  saved_topic="$(env_get KAFKA_TOPIC)"
  saved_dlq="$(env_get CLICKSTREAM_DLQ_TOPIC)"
  saved_partitions="$(env_get CLICKSTREAM_KAFKA_PARTITIONS)"
  TOPIC=${KAFKA_TOPIC:-${saved_topic:-clicks}}
  DLQ_TOPIC=${CLICKSTREAM_DLQ_TOPIC:-${saved_dlq:-clicks.dlq}}
  PARTITIONS=${opt_partitions:-${saved_partitions:-$DEFAULT_PARTITIONS}}
}

# --- Commands --------------------------------------------------------------------------------------

# Starts the given components (all of them for `start`, one for `start-one`) on resolved ports.
start_components() {
  local t0 comp
  t0=$(now_ms)
  [[ -f $INIT_SQL ]] || die "missing $INIT_SQL"
  # Fail before starting anything rather than leave half the stack running.
  [[ " $* " != *" kafka "* ]] || check_kafka_libs
  # PostgreSQL's folder first: the env file records its data directory.
  if [[ " $* " == *" postgres "* ]] && ! pg_running; then
    prepare_pg_dir
  fi
  # Record the ports before starting anything: a partial failure can then be retried, stopped and
  # inspected with the same ports.
  write_env_file
  for comp in "$@"; do
    case $comp in
      postgres) start_postgres "$PG_PORT" ;;
      redis) start_redis "$REDIS_PORT" ;;
      kafka) start_kafka "$KAFKA_PORT" "$KAFKA_CTRL_PORT" ;;
    esac
  done
  log "infra: ready in $(($(now_ms) - t0)) ms; env: source $ENV_FILE"
}

stop_components() {
  local comp
  for comp in "$@"; do
    "stop_$comp"
  done
}

check_component() {
  [[ " ${COMPONENTS[*]} " == *" ${1:-} "* ]] || die "unknown component '${1:-}' (expected: ${COMPONENTS[*]})"
}

check_port() {
  # shellcheck disable=SC2015 # die when either test fails
  [[ $2 =~ ^[0-9]+$ ]] && (($2 <= 65535)) || die "$1 expects a port number (0 = pick a free port), got '$2'"
}

cmd_start() {
  set_state_dir "${1:-}" create
  shift
  local opt_pg="" opt_redis="" opt_kafka="" opt_partitions="" opt val
  while (($#)); do
    opt=$1
    if [[ $opt == --*=* ]]; then
      val=${opt#*=}
      opt=${opt%%=*}
    else
      (($# >= 2)) || die "$opt needs a value"
      val=$2
      shift
    fi
    shift
    case $opt in
      --pg-port) check_port "$opt" "$val"; opt_pg=$val ;;
      --redis-port) check_port "$opt" "$val"; opt_redis=$val ;;
      --kafka-port) check_port "$opt" "$val"; opt_kafka=$val ;;
      --partitions)
        [[ $val =~ ^[1-9][0-9]*$ ]] || die "--partitions expects a positive number, got '$val'"
        opt_partitions=$val ;;
      *) die "unknown option '$opt' (see --help)" ;;
    esac
  done
  lock_state_dir
  gc_pg_dirs
  resolve_config "$opt_pg" "$opt_redis" "$opt_kafka" "$opt_partitions"
  start_components "${COMPONENTS[@]}"
}

cmd_start_one() {
  (($# == 2)) || { usage >&2; exit 2; }
  # shellcheck disable=SC2015 # die when either is missing
  set_state_dir "$1" && [[ -f $ENV_FILE ]] || die "no $1/env; run '$0 start $1' first"
  check_component "$2"
  lock_state_dir
  resolve_config "" "" "" ""
  start_components "$2"
}

# Deletes what start created for this state directory: PostgreSQL's folder and STATE_DIR's own
# infrastructure files (the directory itself too if nothing else is left in it). Everything is stopped.
purge_state() {
  local pg_dir=""
  [[ $PG_LAYOUT != external ]] || pg_dir=$PG_DIR
  rm -rf -- "$STATE_DIR/postgres" # the link (or a legacy directory)
  [[ -z $pg_dir ]] || remove_pg_dir "$pg_dir"
  rm -rf -- "$ENV_FILE" "$REDIS_DIR" "$KAFKA_DIR" "$LOG_DIR/postgres.log" "$REDIS_LOG" "$KAFKA_LOG" \
    "$STATE_DIR/.infra.lock"
  rmdir "$LOG_DIR" "$STATE_DIR" 2>/dev/null || true
  log "infra: deleted the data of $STATE_DIR${pg_dir:+ and $pg_dir}"
}

cmd_stop() {
  local arg dir="" purge=0
  for arg in "$@"; do
    case $arg in
      --purge) purge=1 ;;
      -*) die "unknown option '$arg' (see --help)" ;;
      *) [[ -z $dir ]] || { usage >&2; exit 2; }; dir=$arg ;;
    esac
  done
  [[ -n $dir ]] || { usage >&2; exit 2; }
  if set_state_dir "$dir"; then
    lock_state_dir
    # Kafka first: it is the slowest to shut down and nothing else depends on it being up.
    stop_components kafka redis postgres
    ((purge == 0)) || purge_state
  else
    log "infra: $dir does not exist, nothing to stop"
  fi
  # Also what a deleted state directory left behind (e.g. after rm -rf build).
  gc_pg_dirs
}

cmd_stop_one() {
  (($# == 2)) || { usage >&2; exit 2; }
  check_component "$2"
  set_state_dir "$1" || { log "$2: not running ($1 does not exist)"; return 0; }
  lock_state_dir
  stop_components "$2"
}

cmd_status() {
  (($# == 1)) || { usage >&2; exit 2; }
  set_state_dir "$1" || die "$1 does not exist"
  local comp key port state
  for comp in "${COMPONENTS[@]}"; do
    case $comp in
      postgres) key=CLICKSTREAM_PG_PORT ;;
      redis) key=CLICKSTREAM_REDIS_PORT ;;
      kafka) key=CLICKSTREAM_KAFKA_PORT ;;
    esac
    port="$(env_get "$key")"
    if component_running "$comp"; then state=running; else state=stopped; fi
    printf '%-8s %-7s port %s\n' "$comp" "$state" "${port:--}"
  done
}

main() {
  local arg cmd=${1:-}
  for arg in "$@"; do
    [[ $arg == -h || $arg == --help ]] && { usage; exit 0; }
  done
  (($#)) && shift
  case $cmd in
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    start-one) cmd_start_one "$@" ;;
    stop-one) cmd_stop_one "$@" ;;
    status) cmd_status "$@" ;;
    -h | --help | help) usage ;;
    "") usage >&2; exit 2 ;;
    *) printf 'infra: unknown command %s\n\n' "$cmd" >&2; usage >&2; exit 2 ;;
  esac
}

main "$@"
