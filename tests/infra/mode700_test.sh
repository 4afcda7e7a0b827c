#!/usr/bin/env bash
# scripts/infra.sh with a state directory the postgres user cannot traverse, like a clone in /root
# (mode 700): PostgreSQL must still start (its folder lives under /var/lib/clickstream), answer with the
# schema applied, keep its data across a stop, and leave nothing behind after `stop --purge`; start and
# stop must also delete the folder of a state directory that no longer exists. Runs as root, like
# infra.sh; starts the whole infrastructure on free ports.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
INFRA="$REPO_DIR/scripts/infra.sh"
PG_BASE=/var/lib/clickstream

fail() { printf 'mode700_test: FAIL: %s\n' "$*" >&2; exit 1; }
step() { printf 'mode700_test: %s\n' "$*"; }

((EUID == 0)) || fail "must run as root (scripts/infra.sh runs PostgreSQL through runuser)"
id postgres >/dev/null 2>&1 || fail "no 'postgres' user (run scripts/setup.sh)"

PARENT="$(mktemp -d)"
FAKE_STALE=""
cleanup() {
  local rc=$?
  # On failure, stop whatever was started so no server outlives the test.
  if [[ -d $PARENT/home/state ]]; then
    "$INFRA" stop "$PARENT/home/state" --purge >/dev/null 2>&1 || true
  fi
  [[ -z $FAKE_STALE ]] || rm -rf -- "$FAKE_STALE"
  rm -rf -- "$PARENT"
  ((rc == 0)) && step "PASS" || printf 'mode700_test: FAILED (exit %d)\n' "$rc" >&2
}
trap cleanup EXIT

# $PARENT plays /root: mode 700, so postgres cannot reach anything below it.
chmod 700 "$PARENT"
mkdir -m 700 "$PARENT/home"
STATE="$PARENT/home/state"
if runuser -u postgres -- test -x "$PARENT/home" 2>/dev/null; then
  fail "postgres can traverse $PARENT/home; the test would not prove anything"
fi

run_psql() { # DATABASE_URL from the env file, then psql arguments
  local url
  # shellcheck disable=SC1091
  url="$(set +u; . "$STATE/env"; printf '%s' "$DATABASE_URL")"
  [[ -n $url ]] || fail "no DATABASE_URL in $STATE/env"
  psql "$url" -X -q -tA -v ON_ERROR_STOP=1 "$@"
}

check_postgres() {
  local one table
  one="$(run_psql -c 'SELECT 1')" || fail "PostgreSQL does not answer through DATABASE_URL ($1)"
  [[ $one == 1 ]] || fail "SELECT 1 returned '$one' ($1)"
  table="$(run_psql -c "SELECT to_regclass('public.page_clicks') IS NOT NULL")" ||
    fail "schema query failed ($1)"
  [[ $table == t ]] || fail "table page_clicks does not exist: schema not applied ($1)"
}

step "start $STATE (parent mode 700)"
"$INFRA" start "$STATE" --pg-port 0 --redis-port 0 --kafka-port 0 --partitions 1 ||
  fail "scripts/infra.sh start failed"
[[ -f $STATE/env ]] || fail "no env file $STATE/env"
check_postgres "after start"

[[ -L $STATE/postgres ]] || fail "$STATE/postgres is not a symlink to PostgreSQL's folder"
PG_DIR="$(readlink "$STATE/postgres")"
[[ $(dirname "$PG_DIR") == "$PG_BASE" && -d $PG_DIR ]] || fail "PostgreSQL's folder $PG_DIR is not a folder of $PG_BASE"
[[ "$(stat -c '%U %a' "$PG_DIR")" == "postgres 700" ]] ||
  fail "$PG_DIR is $(stat -c '%U %a' "$PG_DIR"), expected postgres 700"
[[ "$(<"$PG_DIR/state-dir")" == "$STATE" ]] || fail "$PG_DIR/state-dir does not name $STATE"
grep -q . "$STATE/logs/postgres.log" || fail "$STATE/logs/postgres.log is empty or missing"
step "postgres answers, schema applied; data in $PG_DIR"

status="$("$INFRA" status "$STATE")"
for comp in postgres redis kafka; do
  grep -qE "^$comp +running " <<<"$status" || fail "status does not report $comp running: $status"
done

step "stop (data kept), start-one postgres"
"$INFRA" stop "$STATE" || fail "scripts/infra.sh stop failed"
[[ -d $PG_DIR/data ]] || fail "plain stop deleted $PG_DIR"
"$INFRA" start-one "$STATE" postgres || fail "scripts/infra.sh start-one postgres failed"
check_postgres "after start-one"

step "stop --purge"
"$INFRA" stop "$STATE" --purge || fail "scripts/infra.sh stop --purge failed"
[[ ! -e $PG_DIR ]] || fail "$PG_DIR still exists after stop --purge"
[[ ! -e $STATE ]] || fail "$STATE still exists after stop --purge: $(ls -A "$STATE")"
pgrep -f -- "$PG_DIR/data" >/dev/null && fail "a PostgreSQL of $PG_DIR still runs"
"$INFRA" stop "$STATE" --purge >/dev/null || fail "a second stop --purge failed"

# A folder whose state directory is gone (e.g. rm -rf build) is deleted by the next start or stop.
step "stale folder cleanup"
FAKE_STALE="$(mktemp -d "$PG_BASE/mode700-test-XXXXXX")"
printf '%s\n' "$PARENT/vanished" >"$FAKE_STALE/state-dir"
"$INFRA" stop "$PARENT/vanished" || fail "scripts/infra.sh stop of a missing state directory failed"
[[ ! -e $FAKE_STALE ]] || fail "stale folder $FAKE_STALE was not deleted"
