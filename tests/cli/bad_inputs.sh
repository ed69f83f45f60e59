#!/usr/bin/env bash
# bad_inputs.sh - the bad-input corpus: every case under tests/cli/bad/<case>/
# is a small project (files under project/) plus
#   args       the cdbt arguments, shell-quoted (one line; default "compile")
#   expected   the exact stderr (the case's absolute path replaced by <DIR>)
#   rc         the expected exit code (default 2)
# The test fails when any case exits differently or prints a different
# message.  Set UPDATE=1 to rewrite `expected` files from actual output
# (then review the diff!).
set -u
CDBT=$(realpath "${1:?usage: bad_inputs.sh path/to/cdbt}")
HERE=$(cd "$(dirname "$0")" && pwd)
pass=0; fail=0
for dir in "$HERE"/bad/*/; do
  name=$(basename "$dir")
  proj="$dir/project"
  args="compile"
  [ -f "$dir/args" ] && args=$(cat "$dir/args")
  want_rc=2
  [ -f "$dir/rc" ] && want_rc=$(cat "$dir/rc")
  tmp=$(mktemp -d)
  cp -r "$proj" "$tmp/p" 2>/dev/null || mkdir -p "$tmp/p"
  # args is shell-quoted text: `compile --vars '{a: [1}'`
  (cd "$tmp/p" && eval "set -- $args" && env -u DBT_PROJECT_DIR -u DBT_PROFILES_DIR "$CDBT" "$@" \
      --project-dir "$tmp/p" --profiles-dir "$tmp/p" >"$tmp/out" 2>"$tmp/err")
  rc=$?
  sed -i "s#$tmp/p#<DIR>#g" "$tmp/err"
  if [ "${UPDATE:-0}" = 1 ]; then
    cp "$tmp/err" "$dir/expected"
  fi
  if [ "$rc" != "$want_rc" ]; then
    echo "FAIL $name: exit code $rc, expected $want_rc"; sed 's/^/    /' "$tmp/err"; fail=$((fail+1))
  elif ! diff -u "$dir/expected" "$tmp/err" >"$tmp/diff"; then
    echo "FAIL $name: stderr differs"; sed 's/^/    /' "$tmp/diff"; fail=$((fail+1))
  else
    pass=$((pass+1))
  fi
  rm -rf "$tmp"
done
echo "bad_inputs: $pass passed, $fail failed"
[ $fail = 0 ]
