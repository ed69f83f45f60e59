#!/bin/sh
# gen_builtins.sh - regenerate dbt_builtins.inc (a C string literal) from
# dbt_builtins.sql.  Run from anywhere; the unit suite checks they agree.
set -eu
cd "$(dirname "$0")"
{
  echo "/* dbt_builtins.inc - GENERATED from dbt_builtins.sql by gen_builtins.sh; do not edit. */"
  echo "const char dbt_builtin_macros_sql[] ="
  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$/\\n"/' dbt_builtins.sql
  echo ";"
} > dbt_builtins.inc
