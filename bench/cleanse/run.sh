#!/bin/bash
# run.sh - the cleanse benchmark (issue 4).  Generates the dirty 2,000,000-row
# transactions file (deterministic), starts a throw-away PostgreSQL
# (tests/e2e/pg_env.sh) and times, in one run:
#   (a) cdbt cleanse from the file into silver          (silver_tx_file)
#   (b) cdbt cleanse from the all-text bronze table      (silver_tx_bronze, COPY TO on a 2nd connection)
#   (c) psql \copy of the already-clean typed rows into a typed logged table (the limit)
#   (d) the SQL path: \copy into all-text UNLOGGED bronze + insert ... select with the same rules
# and the transform alone with output to /dev/null (throughput.c).  Prints
# times and ratios.  Timings are for humans: nothing here asserts on them.
#
# The machines are shared: compare the ratios of one run, and the client CPU
# time (cdbt user+sys), which load does not stretch as much as wall time.
#
# Usage: bench/cleanse/run.sh [BUILD_DIR] [ROWS]   (BUILD_DIR: a configured cmake build, default build)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$(realpath "${1:-$ROOT/build}")
ROWS=${2:-2000000}
make -C "$BUILD" -j2 cdbt cdbt_cleanse >/dev/null 2>&1 || echo "note: rebuild failed; using the existing binaries in $BUILD" >&2
CDBT="$BUILD/cdbt"
W=$(mktemp -d /tmp/cdbt-cleanse-bench.XXXXXX)
. "$ROOT/tests/e2e/pg_env.sh"
trap 'rm -rf "$W"; pg_env_stop' EXIT
cc -O2 -o "$W/gen" "$HERE/gen_transactions.c"
cc -O2 -I"$ROOT/src" -o "$W/throughput" "$HERE/throughput.c" \
   "$BUILD/libcdbt_cleanse.a" "$BUILD/libcdbt_yaml.a" "$BUILD/libcdbt_value.a" "$BUILD/libcdbt_base.a" \
   $(pkg-config --libs libpcre2-8 yaml-0.1) -lm
export TX_FILE="$W/transactions.csv"
"$W/gen" "$ROWS" > "$TX_FILE"
MB=$(du -m "$TX_FILE" | cut -f1)
echo "input: $ROWS rows, ${MB} MB ($TX_FILE)"
cp -r "$HERE/project" "$W/p"
cd "$W/p"
psql() { command psql -X -q -v ON_ERROR_STOP=1 "$@"; }
psql -c "create schema bronze; create schema silver"
now() { date +%s.%N; }
el() { echo "$2 - $1" | bc -l | xargs printf '%.2f'; }

# transform only
"$W/throughput" models/properties.yml silver_tx_file "$TX_FILE"

# (a) cleanse from the file
TIMEFORMAT='%U %S'
t0=$(now); { time "$CDBT" run --profiles-dir . --select silver_tx_file > a.out; } 2> a.cpu; t1=$(now)
A=$(el "$t0" "$t1"); grep -o 'silver_tx_file (in=[^)]*)' a.out || true
ACPU=$(awk '{printf "%.2f", $1 + $2}' a.cpu)

# (d) the SQL path: load all-text bronze, then insert ... select in SQL
psql -c "create unlogged table bronze.transactions (txn_id text, customer text, email text, amount text, currency text, created_at text, channel text, is_refund text)"
t0=$(now); psql -c "\\copy bronze.transactions from '$TX_FILE' with (format csv, header true)"; t1=$(now)
D1=$(el "$t0" "$t1")
psql -c "create table silver.silver_sql (txn_id bigint, customer text, email text, amount numeric(12,2), currency varchar(3), created_at timestamp, channel text, is_refund boolean)"
t0=$(now)
psql <<'SQL'
insert into silver.silver_sql
select distinct on (txn_id) txn_id, customer, email, amount, currency, created_at, channel, is_refund
from (
  select btrim(txn_id)::bigint as txn_id,
         initcap(regexp_replace(btrim(customer), '\s+', ' ', 'g')) as customer,
         nullif(nullif(nullif(lower(btrim(email)), ''), 'n/a'), 'null') as email,
         replace(btrim(amount), ',', '')::numeric(12,2) as amount,
         upper(btrim(currency))::varchar(3) as currency,
         case when btrim(created_at) ~ '^\d{4}-' then to_timestamp(btrim(created_at), 'YYYY-MM-DD HH24:MI:SS')
              else to_timestamp(btrim(created_at), 'DD/MM/YYYY HH24:MI') end::timestamp as created_at,
         nullif(nullif(nullif(lower(btrim(channel)), ''), 'n/a'), 'null') as channel,
         case when lower(btrim(is_refund)) in ('true','t','yes','y','1','on') then true
              when lower(btrim(is_refund)) in ('false','f','no','n','0','off') then false end as is_refund,
         rn
  from (select *, row_number() over () as rn from bronze.transactions) b
  where btrim(txn_id) ~ '^\d+$'
    and replace(btrim(amount), ',', '') ~ '^\d+(\.\d+)?$'
    and upper(btrim(currency)) in ('EUR', 'USD', 'GBP')
    and btrim(created_at) !~ '^\d{4}-02-3' and btrim(created_at) !~ '^3[01]/02/'
    and lower(btrim(is_refund)) in ('true','t','yes','y','1','on','false','f','no','n','0','off')
) s
order by txn_id, rn;
SQL
t1=$(now)
D2=$(el "$t0" "$t1")
D=$(echo "$D1 + $D2" | bc -l | xargs printf '%.2f')

# (b) cleanse from the all-text bronze table (COPY TO STDOUT on a second connection)
t0=$(now); { time "$CDBT" run --profiles-dir . --select silver_tx_bronze > b.out; } 2> b.cpu; t1=$(now)
B=$(el "$t0" "$t1"); grep -o 'silver_tx_bronze (in=[^)]*)' b.out || true
BCPU=$(awk '{printf "%.2f", $1 + $2}' b.cpu)

# (c) the limit: \copy of the already-clean typed rows into a typed logged table
psql -c "\\copy silver.silver_tx_file to '$W/clean.tsv'"
psql -c "create table silver.typed_copy (like silver.silver_tx_file)"
t0=$(now); psql -c "\\copy silver.typed_copy from '$W/clean.tsv'"; t1=$(now)
C=$(el "$t0" "$t1")

echo "rows: silver_tx_file=$(psql -A -t -c 'select count(*) from silver.silver_tx_file')" \
     "silver_tx_bronze=$(psql -A -t -c 'select count(*) from silver.silver_tx_bronze')" \
     "silver_sql=$(psql -A -t -c 'select count(*) from silver.silver_sql')" \
     "rejects=$(psql -A -t -c 'select count(*) from silver.silver_tx_file__rejects')"
echo "silver_sql vs silver_tx_file differing rows (the SQL path's 'first' duplicate follows heap order, not file order): $(psql -A -t -c 'select count(*) from (select * from silver.silver_sql except select * from silver.silver_tx_file) x')"
printf '(a) cdbt cleanse from file        %6s s   (cdbt CPU %s s)\n' "$A" "$ACPU"
printf '(b) cdbt cleanse from bronze      %6s s   (cdbt CPU %s s)\n' "$B" "$BCPU"
printf '(c) \\copy clean typed rows        %6s s\n' "$C"
printf '(d) SQL path: load %s s + SQL %s s = %s s\n' "$D1" "$D2" "$D"
printf 'ratios: a/c = %.2f (target <= 1.2)   d/a = %.2f (target >= 3)   b/c = %.2f\n' \
  "$(echo "$A / $C" | bc -l)" "$(echo "$D / $A" | bc -l)" "$(echo "$B / $C" | bc -l)"
