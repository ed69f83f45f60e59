#!/usr/bin/env bash
# exec_bench.sh - cdbt against psql on the same PostgreSQL, in one run:
#
#   1. `cdbt seed` of an N-row CSV (default 2,000,000) vs `psql \copy` of the
#      same file into a table of the same types        (target: >= 0.9 of psql's throughput)
#   2. `cdbt run --threads 4` of V view models (default 1,000) vs psql executing
#      the same DDL, one `create view` per model on one connection
#      (target: <= 1.5x psql's time); for scale also vs psql sending the very
#      statements cdbt sent (dbt's swap through __dbt_tmp / __dbt_backup)
#
#   bench/exec_bench.sh [path/to/cdbt] [ROWS] [VIEWS]
#   (SRUNS=3: best of 3 loads each side; VRUNS=3: best of 3 view rebuilds)
#
# Starts its own throw-away server (tests/e2e/pg_env.sh); prints a table with
# the times and the ratios.  Generated files go to a temp dir.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CDBT=$(realpath "${1:-$ROOT/build/cdbt}")
ROWS=${2:-2000000}
VIEWS=${3:-1000}
. "$ROOT/tests/e2e/pg_env.sh"
W=$(mktemp -d /tmp/cdbt-exec-bench.XXXXXX)
chmod 755 "$W"
trap 'rm -rf "$W"; pg_env_stop' EXIT
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# ---- the project: one seed, VIEWS view models over it
P=$W/p
mkdir -p "$P/seeds" "$P/models"
cat >"$P/dbt_project.yml" <<'EOF'
name: bench_exec
version: '1.0'
config-version: 2
profile: bench_exec
models:
  bench_exec:
    +materialized: view
EOF
cat >"$P/profiles.yml" <<'EOF'
bench_exec:
  target: dev
  outputs:
    dev:
      type: postgres
      host: "{{ env_var('PGHOST') }}"
      port: "{{ env_var('PGPORT') | int }}"
      user: "{{ env_var('PGUSER') }}"
      password: ""
      dbname: "{{ env_var('PGDATABASE') }}"
      schema: bench
      threads: 4
EOF
echo "bench: generating $ROWS-row CSV"
awk -v n="$ROWS" 'BEGIN {
  print "id,customer,amount,ordered_on,is_paid,note";
  srand(7);
  for (i = 1; i <= n; i++)
    printf "%d,cust_%05d,%.2f,2024-%02d-%02d,%s,\"note %d, with comma\"\n",
           i, i % 50000, (i % 100000) / 7.0, 1 + i % 12, 1 + i % 28, (i % 3 ? "true" : "false"), i;
}' >"$P/seeds/orders.csv"
MB=$(du -m "$P/seeds/orders.csv" | cut -f1)
for i in $(seq 1 "$VIEWS"); do
  printf "select id, amount from {{ source('raw', 'base') }} where id %% %d = 0\n" "$i" >"$P/models/v_$i.sql"
done
cat >"$P/models/sources.yml" <<'EOF'
version: 2
sources:
  - name: raw
    schema: bench
    tables:
      - name: base
EOF
cd "$P"

# ---- 1. seed vs \copy: best of SRUNS (default 3) loads each, taken in turns;
# every cdbt load is a first load (the table is dropped before it: create +
# COPY), every psql load goes into an empty table; a checkpoint before each
# load, so that none pays for writing out the pages of the one before
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b < a) ? b : a }'; }
psql -X -q -v ON_ERROR_STOP=1 -c "create schema bench; create schema ref;" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -c "create table ref.orders (id integer, customer text, amount float8, ordered_on date, is_paid boolean, note text)" >/dev/null
SEED= COPY=
for k in $(seq 1 "${SRUNS:-3}"); do
  psql -X -q -v ON_ERROR_STOP=1 -c "drop table if exists bench.orders" -c "checkpoint" >/dev/null
  t0=$(now); "$CDBT" seed -q >/dev/null; t1=$(now)
  SEED=$(best "$SEED" "$(secs "$t0" "$t1")")
  psql -X -q -v ON_ERROR_STOP=1 -c "truncate ref.orders" -c "checkpoint" >/dev/null
  t0=$(now); psql -X -q -v ON_ERROR_STOP=1 -c "\\copy ref.orders from '$P/seeds/orders.csv' with (format csv, header true)" >/dev/null; t1=$(now)
  COPY=$(best "$COPY" "$(secs "$t0" "$t1")")
done
n1=$(psql -X -A -t -c "select count(*) from bench.orders"); n2=$(psql -X -A -t -c "select count(*) from ref.orders")
[ "$n1" = "$ROWS" ] && [ "$n2" = "$ROWS" ] || { echo "bench: row counts differ: cdbt $n1, psql $n2" >&2; exit 1; }

# ---- 2. run of VIEWS views vs psql executing the same DDL
psql -X -q -v ON_ERROR_STOP=1 -c "create table bench.base as select id, amount from bench.orders limit 1000" >/dev/null
"$CDBT" run -q --threads 4 >/dev/null          # first build (creates the views)
"$CDBT" run -q --threads 4 >/dev/null          # a rebuild: target/run now holds the swap
{
  for i in $(seq 1 "$VIEWS"); do
    printf 'create or replace view ref.v_%d as select id, amount from bench.base where id %% %d = 0;\n' "$i" "$i"
  done
} >"$W/views.sql"
psql -X -q -v ON_ERROR_STOP=1 -f "$W/views.sql" >/dev/null     # first create
# for scale: psql sending the statements cdbt sent (dbt's swap, from
# target/run: BEGIN; create __dbt_tmp; renames; COMMIT; drop __dbt_backup)
for i in $(seq 1 "$VIEWS"); do
  awk '{ l[NR] = $0 } END { print "BEGIN;"; for (k = 1; k < NR; k++) print l[k]; print "COMMIT;"; print l[NR] }' \
    "$P/target/run/bench_exec/models/v_$i.sql"
done >"$W/swap.sql"
# best of VRUNS (default 3) rebuilds each, taken in turns (shared machines are noisy)
RUN= PSQLV= PSQLS=
for k in $(seq 1 "${VRUNS:-3}"); do
  t0=$(now); "$CDBT" run -q --threads 4 >/dev/null; t1=$(now)
  RUN=$(best "$RUN" "$(secs "$t0" "$t1")")
  t0=$(now); psql -X -q -v ON_ERROR_STOP=1 -f "$W/views.sql" >/dev/null; t1=$(now)
  PSQLV=$(best "$PSQLV" "$(secs "$t0" "$t1")")
  t0=$(now); psql -X -q -v ON_ERROR_STOP=1 -f "$W/swap.sql" >/dev/null; t1=$(now)
  PSQLS=$(best "$PSQLS" "$(secs "$t0" "$t1")")
done

printf '\n%-44s %10s %10s %10s\n' "benchmark" "cdbt s" "psql s" "ratio"
printf '%-44s %10s %10s %10s   (target: throughput >= 0.9 of psql)\n' "seed $ROWS rows ($MB MB) vs \\copy" "$SEED" "$COPY" \
  "$(ratio "$COPY" "$SEED")"
printf '%-44s %10s %10s %10s   (target: time <= 1.5x psql)\n' "run --threads 4, $VIEWS views (rebuild)" "$RUN" "$PSQLV" \
  "$(ratio "$RUN" "$PSQLV")x"
printf '%-44s %10s %10s %10s   (psql: the statements cdbt sent, 1 connection)\n' "  the same run vs psql sending dbt's swap" "$RUN" \
  "$PSQLS" "$(ratio "$RUN" "$PSQLS")x"
