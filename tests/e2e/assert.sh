# assert.sh - source me after pg_env.sh: the assertions the e2e scripts share.
# Each failed assertion prints what was expected and what came, and counts in
# $fails; the script ends with `[ $fails = 0 ]` (or prints its own summary).
fails=0
check() {   # check <what> <expected> <actual>
  if [ "$2" != "$3" ]; then
    echo "FAIL: $1"; echo "--- expected"; printf '%s\n' "$2"; echo "--- got"; printf '%s\n' "$3"; fails=$((fails+1))
  fi
}
contains() {   # contains <what> <needle> <file>
  grep -qF -- "$2" "$3" || { echo "FAIL: $1: '$2' not in $3"; sed 's/^/  | /' "$3" | head -80; fails=$((fails+1)); }
}
q() { psql -X -q -A -t -F '|' -v ON_ERROR_STOP=1 -c "$1" 2>&1; }   # one query, unaligned, '|'-separated
