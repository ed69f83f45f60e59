#!/usr/bin/env bash
# debug.sh - `cdbt debug` against a throw-away PostgreSQL (§12.1): versions,
# where profiles.yml / dbt_project.yml were found and whether they load, the
# target's connection parameters (never the password) and `select 1`;
# exit 0 when every check passed, 1 when one failed (unreachable server,
# invalid profiles.yml, invalid dbt_project.yml); --config-dir prints the
# directory profiles.yml is looked up in.
set -u
CDBT=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/pg_env.sh"
W=$(mktemp -d /tmp/cdbt-debug-e2e.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$W"; pg_env_stop' EXIT
cp -r "$HERE/../fixtures/e2e/run_basic" "$W/p"
cd "$W/p"
. "$HERE/assert.sh"
sed -i 's|password: ""|password: "s3cret-never-printed"|' profiles.yml

# ---- 1. everything fine
"$CDBT" debug > d1.out 2>&1
check "debug exit code" 0 $?
contains "version" "cdbt version: " d1.out
contains "profiles dir" "Using profiles dir at $W/p" d1.out
contains "profiles.yml path" "Using profiles.yml file at $W/p/profiles.yml" d1.out
contains "project path" "Using dbt_project.yml file at $W/p/dbt_project.yml" d1.out
contains "profiles ok" "profiles.yml file [OK found and valid]" d1.out
contains "project ok" "dbt_project.yml file [OK found and valid]" d1.out
contains "host shown" "  host: $PGHOST" d1.out
contains "schema shown" "  schema: analytics" d1.out
contains "connection ok" "Connection test: [OK connection ok]" d1.out
contains "all passed" "All checks passed!" d1.out
if grep -q "s3cret-never-printed" d1.out; then echo "FAIL: the password was printed"; fails=$((fails+1)); fi

# ---- 2. the server cannot be reached
"$CDBT" debug --vars '{}' > /dev/null 2>&1     # --vars accepted
PGPORT=5999 "$CDBT" debug > d2.out 2>&1
check "unreachable exit code" 1 $?
contains "connection error" "Connection test: [ERROR]" d2.out
contains "one check failed" "1 check failed:" d2.out
contains "reason" "Could not connect to PostgreSQL" d2.out

# ---- 3. an invalid profiles.yml
cp profiles.yml profiles.yml.ok
printf 'e2e:\n  target: dev\n  outputs: [oops\n' > profiles.yml
"$CDBT" debug > d3.out 2>&1
check "invalid profile exit code" 1 $?
contains "profiles invalid" "profiles.yml file [ERROR invalid]" d3.out
contains "profile reason" "Profile loading failed for the following reason:" d3.out
if grep -q "Connection test: \[OK" d3.out; then echo "FAIL: connection tested without a profile"; fails=$((fails+1)); fi
mv profiles.yml.ok profiles.yml

# ---- 4. an invalid dbt_project.yml
cp dbt_project.yml dbt_project.yml.ok
printf 'name: [unclosed\n' > dbt_project.yml
"$CDBT" debug > d4.out 2>&1
check "invalid project exit code" 1 $?
contains "project invalid" "dbt_project.yml file [ERROR invalid]" d4.out
contains "project reason" "Project loading failed for the following reason:" d4.out
mv dbt_project.yml.ok dbt_project.yml

# ---- 5. --config-dir, --help
"$CDBT" debug --config-dir > d5.out 2>&1
check "config-dir exit code" 0 $?
contains "config dir" "xdg-open $W/p" d5.out
if grep -q "Connection" d5.out; then echo "FAIL: --config-dir ran the checks"; fails=$((fails+1)); fi
"$CDBT" debug --help > d6.out 2>&1
check "debug --help exit code" 0 $?
contains "help summary" "check dbt_project.yml, profiles.yml and the database connection" d6.out
mkdir -p "$W/elsewhere"
(cd "$W/elsewhere" && HOME="$W/elsewhere" "$CDBT" debug --config-dir) > d7.out 2>&1
contains "config dir falls back to ~/.dbt" "xdg-open $W/elsewhere/.dbt" d7.out

[ $fails = 0 ] && echo "debug: all checks passed"
[ $fails = 0 ]
