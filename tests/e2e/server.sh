#!/usr/bin/env bash
# server.sh - `cdbt server start|status|stop` on a tiny project whose default
# target is `managed: true`: cold start (initdb), reuse, the psql line works,
# no TCP listener, compile/ls never start anything, recovery after the
# postmaster is killed with SIGKILL (stale postmaster.pid), stop.
# As root the server must run as the `postgres` system user.
set -u
CDBT=${1:?usage: server.sh path/to/cdbt}
CDBT=$(cd "$(dirname "$CDBT")" && pwd)/$(basename "$CDBT")
T=$(mktemp -d /tmp/cdbt-e2e-server.XXXXXX)
chmod 755 "$T"
P=$T/proj
fails=0
cleanup() {
    "$CDBT" server stop --project-dir "$P" --profiles-dir "$P" >/dev/null 2>&1
    rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
expect_rc() {  # expected actual what
    [ "$1" = "$2" ] || fail "$3: exit $2, expected $1"
}
contains() {  # haystack needle what
    case "$1" in *"$2"*) ;; *) fail "$3: missing '$2' in: $1" ;; esac
}

mkdir -p "$P/models"
cat > "$P/dbt_project.yml" <<'EOF'
name: tiny
version: "1.0"
config-version: 2
profile: tiny
EOF
cat > "$P/profiles.yml" <<'EOF'
tiny:
  target: dev
  outputs:
    dev:
      type: postgres
      managed: true
      dbname: tiny_wh
      schema: analytics
    ext:
      type: postgres
      host: localhost
      port: 5432
      user: nobody
      dbname: x
      schema: analytics
EOF
echo "select 1 as one" > "$P/models/m.sql"
cd "$P" || exit 1
export DBT_PROFILES_DIR=$P

# status before anything exists
out=$("$CDBT" server status 2>&1); rc=$?
expect_rc 1 $rc "status before start"
contains "$out" "Managed PostgreSQL server: not initialized" "status before start"
contains "$out" "data directory:   $P/.cdbt/pgdata" "status before start"

# compile / ls never start the server
"$CDBT" compile >/dev/null 2>&1 || fail "compile"
"$CDBT" ls >/dev/null 2>&1 || fail "ls"
[ -e "$P/.cdbt/pgdata" ] && fail "compile/ls created a cluster"

# cold start
out=$("$CDBT" server start 2>&1); rc=$?
expect_rc 0 $rc "start"
contains "$out" "Managed PostgreSQL server: running" "start"
[ -f "$P/.cdbt/pgdata/PG_VERSION" ] || fail "no cluster in .cdbt/pgdata"
if [ "$(id -u)" = 0 ]; then
    owner=$(stat -c %U "$P/.cdbt/pgdata")
    [ "$owner" = postgres ] || fail "data dir owned by $owner, expected postgres"
    runner=$(ps -o user= -p "$(head -1 "$P/.cdbt/pgdata/postmaster.pid")" | tr -d ' ')
    [ "$runner" = postgres ] || fail "server runs as $runner, expected postgres"
fi
psql_line=$(printf '%s\n' "$out" | sed -n 's/^  connect: *//p')
contains "$psql_line" "psql -h /tmp/cdbt-" "psql line"
contains "$psql_line" " -U postgres tiny_wh" "psql line"
pid1=$(printf '%s\n' "$out" | sed -n 's/^  pid: *//p')
[ -n "$pid1" ] || fail "no pid in start output"

# the psql line works, the database exists, no TCP listener
got=$($psql_line -Atc "select current_database() || '|' || current_setting('listen_addresses') || '|'" 2>&1)
[ "$got" = "tiny_wh||" ] || fail "psql: got '$got'"
$psql_line -qc "create table keepme as select 42 as v" >/dev/null 2>&1 || fail "create table"

# reuse
out=$("$CDBT" server start 2>&1); rc=$?
expect_rc 0 $rc "second start"
pid2=$(printf '%s\n' "$out" | sed -n 's/^  pid: *//p')
[ "$pid1" = "$pid2" ] || fail "second start did not reuse the server ($pid1 vs $pid2)"
out=$("$CDBT" server status 2>&1); rc=$?
expect_rc 0 $rc "status running"
contains "$out" "pid:              $pid1" "status running"
contains "$out" "version:          " "status running"

# crash: kill -9 the postmaster, then recover
kill -9 "$pid1"
"$CDBT" server status >/dev/null 2>&1; rc=$?
expect_rc 1 $rc "status after kill -9"
out=$("$CDBT" server start 2>&1); rc=$?
expect_rc 0 $rc "start after kill -9"
pid3=$(printf '%s\n' "$out" | sed -n 's/^  pid: *//p')
[ -n "$pid3" ] && [ "$pid3" != "$pid1" ] || fail "no new postmaster after kill -9 ($pid3)"
got=$($psql_line -Atc "select v from keepme" 2>&1)
[ "$got" = 42 ] || fail "data after recovery: '$got'"

# a target that is not managed
out=$("$CDBT" server status --target ext 2>&1); rc=$?
expect_rc 2 $rc "status of an unmanaged target"
contains "$out" "Target 'ext' of profile 'tiny' is not a managed server" "unmanaged target"
out=$("$CDBT" server restart 2>&1); rc=$?
expect_rc 2 $rc "unknown action"

# stop
out=$("$CDBT" server stop 2>&1); rc=$?
expect_rc 0 $rc "stop"
contains "$out" "Stopped the managed PostgreSQL server ($P/.cdbt/pgdata)" "stop"
# gone, or exiting: pg_ctl returns once postmaster.pid is removed (allow 10 s)
for _ in $(seq 50); do st=$(ps -o stat= -p "$pid3" 2>/dev/null); case "$st" in ""|Z*) break ;; esac; sleep 0.2; done
case "$st" in ""|Z*) ;; *) fail "postmaster $pid3 still running after stop ($st)" ;; esac
[ -e "$P/.cdbt/pgdata/postmaster.pid" ] && fail "postmaster.pid left after stop"
out=$("$CDBT" server status 2>&1); rc=$?
expect_rc 1 $rc "status after stop"
contains "$out" "Managed PostgreSQL server: stopped" "status after stop"
out=$("$CDBT" server stop 2>&1); rc=$?
expect_rc 0 $rc "second stop"
contains "$out" "was not running" "second stop"

if [ $fails -ne 0 ]; then
    echo "server.sh: $fails failure(s)" >&2
    exit 1
fi
echo "server.sh: ok"
