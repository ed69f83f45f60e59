# pg_env.sh - source me: starts a throw-away PostgreSQL cluster for one test
# script and exports PGHOST (a private Unix-socket directory), PGPORT, PGUSER,
# PGDATABASE.  The cluster is stopped and deleted when the sourcing shell exits.
#
#   . "$(dirname "$0")/../e2e/pg_env.sh"      # then psql / cdbt just work
#
# PostgreSQL refuses to run as root: as root the cluster is owned by and run
# as the `postgres` system user.  No TCP listener (listen_addresses='').
pg_env_bindir() {
  local d
  if command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ]; then pg_config --bindir; return; fi
  if command -v initdb >/dev/null; then dirname "$(command -v initdb)"; return; fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/initdb" ] && { echo "$d"; return; }
  done
  return 1
}
PG_BIN=$(pg_env_bindir) || { echo "pg_env.sh: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
PG_TMP=$(mktemp -d /tmp/cdbtpg.XXXXXX)
chmod 755 "$PG_TMP"
pg_env_as() {   # run a command as the cluster owner
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [ "$(id -u)" = 0 ]; then chown postgres "$PG_TMP"; fi
pg_env_as "$PG_BIN/initdb" -D "$PG_TMP/data" -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8 >"$PG_TMP/initdb.log" 2>&1 \
  || { cat "$PG_TMP/initdb.log" >&2; exit 1; }
pg_env_as "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/server.log" -w -s \
  -o "-c listen_addresses='' -c unix_socket_directories=$PG_TMP -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=40" start \
  || { cat "$PG_TMP/server.log" >&2; exit 1; }
pg_env_stop() {
  pg_env_as "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m immediate -s stop >/dev/null 2>&1
  rm -rf "$PG_TMP"
}
trap pg_env_stop EXIT
export PGHOST=$PG_TMP PGPORT=5432 PGUSER=postgres PGDATABASE=postgres
unset PGPASSWORD PGSERVICE
