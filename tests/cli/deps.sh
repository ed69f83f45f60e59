#!/usr/bin/env bash
# deps.sh - `cdbt deps` without a database: local packages (a symlink named
# by the package's dbt_project.yml name), git packages from a local bare
# repository (tag, commit pin, subdirectory, HEAD with the unpinned
# warning), transitive dependencies, package-lock.yml (content, dbt's
# sha1_hash, reuse, --lock, --upgrade), stale install directories emptied,
# dependencies.yml, env_var() with secrets, hub packages (kept when
# installed and pinned, else an error), and the errors with their exact
# messages and exit codes.
set -u
CDBT=$(realpath "${1:?usage: deps.sh path/to/cdbt}")
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
pass=0; fail=0
ok()  { pass=$((pass+1)); }
bad() { echo "FAIL: $*"; fail=$((fail+1)); }
expect() {  # expect <what> <expected> <actual>
    if [ "$2" = "$3" ]; then ok; else bad "$1"; printf -- '--- expected\n%s\n--- actual\n%s\n' "$2" "$3"; fi
}
has() {     # has <what> <needle> <haystack>
    case "$3" in *"$2"*) ok ;; *) bad "$1"; printf -- '--- wanted\n%s\n--- in\n%s\n' "$2" "$3" ;; esac
}
# cdbt deps in the root project; stdout without the timestamps; stderr in $W/err; exit code in $rc
run() { (cd "$W/root" && "$CDBT" deps "$@" >"$W/out" 2>"$W/err"); rc=$?; out=$(sed -E 's/^[0-9:]{8}  //' "$W/out"); err=$(cat "$W/err"); }

mkdir -p "$W/root/models" "$W/localpkg/macros" "$W/localpkg2"
printf 'name: root_proj\nprofile: nothing\n' > "$W/root/dbt_project.yml"
echo "select 1 as a" > "$W/root/models/m.sql"
printf 'name: "{{ %s }}"\nversion: "0.1.0"\n' "'my_' ~ 'local'" > "$W/localpkg/dbt_project.yml"
printf '{%% macro hello() %%}1{%% endmacro %%}\n' > "$W/localpkg/macros/hello.sql"
printf 'name: second_local\n' > "$W/localpkg2/dbt_project.yml"

# ---- no packages.yml: not an error, dbt's warning, an empty install directory
run
expect "no packages.yml: exit 0" 0 "$rc"
expect "no packages.yml: output" "Running with cdbt=0.1.0
Warning: No packages were found in packages.yml" "$out"
[ -d "$W/root/dbt_packages" ] && [ -z "$(ls -A "$W/root/dbt_packages")" ] && ok || bad "no packages.yml: empty dbt_packages"
[ ! -e "$W/root/package-lock.yml" ] && ok || bad "no packages.yml: no lock file"

# ---- a local package, a stale directory removed
mkdir -p "$W/root/dbt_packages/stale_pkg" && touch "$W/root/dbt_packages/stale_pkg/x.sql"
printf 'packages:\n  - local: ../localpkg\n' > "$W/root/packages.yml"
run
expect "local: exit 0" 0 "$rc"
expect "local: output" "Running with cdbt=0.1.0
Updating lock file in file path: $W/root/package-lock.yml
Installing ../localpkg
  Installed from <local @ ../localpkg>" "$out"
[ -L "$W/root/dbt_packages/my_local" ] && ok || bad "local: dbt_packages/my_local is a symlink (named by the rendered project name)"
expect "local: symlink target" "$W/localpkg" "$(readlink "$W/root/dbt_packages/my_local")"
[ ! -e "$W/root/dbt_packages/stale_pkg" ] && ok || bad "stale directory removed"
# dbt's hash: sha1 of json.dumps({"local": "../localpkg", "unrendered": {"local": "../localpkg"}}, sort_keys=True)
expect "local: package-lock.yml" "packages:
  - local: ../localpkg
sha1_hash: 471e45622fb6822ecb160a7e61e2557a10fb4597" "$(cat "$W/root/package-lock.yml")"
run
expect "lock up to date: not rewritten" "Running with cdbt=0.1.0
Installing ../localpkg
  Installed from <local @ ../localpkg>" "$out"
[ -e "$W/localpkg/macros/hello.sql" ] && ok || bad "the local package's own files survive a reinstall"

# ---- a git package: a bare repository with a tag, a later commit and a subdirectory
G="$W/gitsrc"
mkdir -p "$G/sub/macros"
(
    cd "$G" && git init -q -b main . && git config user.email t@example.com && git config user.name t &&
    printf 'name: gitpkg\nversion: "1.0.0"\n' > dbt_project.yml &&
    printf 'name: subpkg\n' > sub/dbt_project.yml &&
    printf '{%% macro sub_macro() %%}2{%% endmacro %%}\n' > sub/macros/sub_macro.sql &&
    printf 'packages:\n  - local: ../localpkg2\n' > sub/packages.yml &&
    git add -A && git commit -qm one && git tag v1.0 &&
    echo '-- later' > later.sql && git add -A && git commit -qm two
) || bad "git fixture"
git clone -q --bare "$G" "$W/repo.git"
V1=$(git -C "$G" rev-parse v1.0)
URL="file://$W/repo.git"
cat > "$W/root/packages.yml" <<EOF
packages:
  - git: "$URL"
    revision: v1.0
  - git: "$URL"
    revision: v1.0
    subdirectory: sub
EOF
run
expect "git: exit 0" 0 "$rc"
expect "git: output (transitive local package of the subdirectory, relative to the root project)" "Running with cdbt=0.1.0
Updating lock file in file path: $W/root/package-lock.yml
Installing $URL
  Installed from revision $V1
Installing $URL/sub
  Installed from revision $V1
   and subdirectory sub
Installing ../localpkg2
  Installed from <local @ ../localpkg2>" "$out"
expect "git: installed packages" "gitpkg second_local subpkg" "$(ls "$W/root/dbt_packages" | tr '\n' ' ' | sed 's/ $//')"
[ -f "$W/root/dbt_packages/gitpkg/dbt_project.yml" ] && [ ! -e "$W/root/dbt_packages/gitpkg/later.sql" ] && ok \
    || bad "git: checked out at the tag, not the later commit"
expect "git: the subdirectory alone" "dbt_project.yml macros packages.yml" "$(ls "$W/root/dbt_packages/subpkg" | tr '\n' ' ' | sed 's/ $//')"
[ -L "$W/root/dbt_packages/my_local" ] && bad "git: the local package no longer declared is removed" || ok
expect "git: package-lock.yml pins the commit" "packages:
  - git: $URL
    revision: $V1
  - git: $URL
    revision: $V1
    subdirectory: sub
  - local: ../localpkg2
sha1_hash: $(python3 - "$URL" <<'EOF'
import hashlib, json, sys
u = sys.argv[1]
e = [{"git": u, "revision": "v1.0", "warn-unpinned": None, "subdirectory": None,
      "unrendered": {"git": u, "revision": "v1.0"}},
     {"git": u, "revision": "v1.0", "warn-unpinned": None, "subdirectory": "sub",
      "unrendered": {"git": u, "revision": "v1.0", "subdirectory": "sub"}}]
print(hashlib.sha1("\n".join(sorted(json.dumps(x, sort_keys=True) for x in e)).encode()).hexdigest())
EOF
)" "$(cat "$W/root/package-lock.yml")"
# installing from the lock: the commit pin, no new lock
run
expect "git from the lock: exit 0" 0 "$rc"
has "git from the lock: installed from the pinned commit" "Installing $URL
  Installed from revision $V1" "$out"
case "$out" in *"Updating lock file"*) bad "git from the lock: lock not rewritten" ;; *) ok ;; esac
# --lock: resolves and writes the lock, installs nothing
rm -rf "$W/root/dbt_packages" "$W/root/package-lock.yml"
run --lock
expect "--lock: exit 0" 0 "$rc"
expect "--lock: output" "Running with cdbt=0.1.0
Updating lock file in file path: $W/root/package-lock.yml" "$out"
[ -f "$W/root/package-lock.yml" ] && [ ! -e "$W/root/dbt_packages" ] && ok || bad "--lock: lock written, nothing installed"
# --upgrade: resolves again although the lock is current
run --upgrade
has "--upgrade: the lock is written again" "Updating lock file in file path" "$out"

# ---- HEAD: dbt's unpinned warning (an error with --warn-error)
printf 'packages:\n  - git: "%s"\n' "$URL" > "$W/root/packages.yml"
run
expect "HEAD: exit 0" 0 "$rc"
has "HEAD: unpinned warning" "WARNING: The git package \"$URL\" 
	is not pinned, using HEAD (default branch).
	This can introduce breaking changes into your project without warning!" "$out"
[ -e "$W/root/dbt_packages/gitpkg/later.sql" ] && ok || bad "HEAD: the latest commit"
rm -f "$W/root/package-lock.yml"
run --warn-error
expect "HEAD --warn-error: exit 2" 2 "$rc"
printf 'packages:\n  - git: "%s"\n    warn-unpinned: false\n' "$URL" > "$W/root/packages.yml"
run
case "$out" in *WARNING*) bad "warn-unpinned: false silences the warning" ;; *) ok ;; esac

# ---- dependencies.yml (dbt 1.6+), env_var() with a secret, kept unrendered in the lock and masked in output
rm -f "$W/root/packages.yml" "$W/root/package-lock.yml"
cat > "$W/root/dependencies.yml" <<EOF
packages:
  - git: "file://$W/{{ env_var('DBT_ENV_SECRET_REPO') }}.git"
    revision: "{{ env_var('REV', 'v1.0') }}"
projects:
  - name: upstream_mesh_project
EOF
DBT_ENV_SECRET_REPO=repo run
expect "dependencies.yml + secret: exit 0" 0 "$rc"
has "secret masked in the output" "Installing file://$W/*****.git" "$out"
has "lock keeps the template" "  - git: file://$W/{{ env_var('DBT_ENV_SECRET_REPO') }}.git" "$(cat "$W/root/package-lock.yml")"
printf 'packages:\n  - local: ../localpkg\n' > "$W/root/packages.yml"
run
expect "packages in both files: exit 2" 2 "$rc"
expect "packages in both files: message" "dependencies.yml: error: The 'packages' key cannot be specified in both packages.yml and dependencies.yml" "$err"
rm -f "$W/root/dependencies.yml" "$W/root/package-lock.yml"

# ---- hub packages: kept when installed at the pinned version, else an error naming the line
rm -rf "$W/root/dbt_packages"
cat > "$W/root/packages.yml" <<'EOF'
packages:
  - local: ../localpkg
  - package: dbt-labs/dbt_utils
    version: [">=1.0.0", "<2.0.0"]
EOF
run
expect "hub, not installed: exit 2" 2 "$rc"
expect "hub, not installed: message" "packages.yml:3:5: error: Hub package 'dbt-labs/dbt_utils' version ['>=1.0.0', '<2.0.0'] cannot be installed: cdbt has no HTTP client to download it from the package hub (package-lock.yml does not pin it). Install it with \`dbt deps\` (cdbt keeps an installed hub package at the version package-lock.yml pins), or declare it as a \`git:\` package with a \`revision:\`
    3 |   - package: dbt-labs/dbt_utils
      |     ^" "$err"
mkdir -p "$W/root/dbt_packages/dbt_utils/macros"
printf "name: dbt_utils\nversion: '1.3.0'\n" > "$W/root/dbt_packages/dbt_utils/dbt_project.yml"
touch "$W/root/dbt_packages/dbt_utils/macros/keep.sql"
printf 'packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.3.0\nsha1_hash: not-the-hash\n' > "$W/root/package-lock.yml"
run
expect "hub, installed and pinned: exit 0" 0 "$rc"
has "hub, installed and pinned: kept" "Installing dbt-labs/dbt_utils
  Installed from version 1.3.0
  Kept the copy already installed in dbt_packages/dbt_utils (cdbt cannot download from the package hub)" "$out"
[ -e "$W/root/dbt_packages/dbt_utils/macros/keep.sql" ] && [ -L "$W/root/dbt_packages/my_local" ] && ok || bad "hub: kept, beside the local package"
printf "name: dbt_utils\nversion: '1.1.0'\n" > "$W/root/dbt_packages/dbt_utils/dbt_project.yml"
run
expect "hub, another version installed: exit 2" 2 "$rc"
has "hub, another version installed: message" "cannot be installed: cdbt has no HTTP client to download it from the package hub ($W/root/dbt_packages/dbt_utils holds version 1.1.0, not 1.3.0)" "$err"
[ -e "$W/root/dbt_packages/dbt_utils/macros/keep.sql" ] && ok || bad "an error leaves the install directory alone"
printf 'packages:\n  - package: dbt_utils\n    version: 1.3.0\n' > "$W/root/packages.yml"
run
expect "hub without namespace: message" "packages.yml:2:14: error: dbt_utils was not found in the package index. Packages on the index require a namespace, e.g dbt-labs/dbt_utils
    2 |   - package: dbt_utils
      |              ^" "$err"
printf 'packages:\n  - package: dbt-labs/dbt_utils\n' > "$W/root/packages.yml"
run
expect "hub without version: message" "packages.yml:2:5: error: dbt-labs/dbt_utils is missing the version. When installing from the Hub package index, version is a required property
    2 |   - package: dbt-labs/dbt_utils
      |     ^" "$err"
printf 'packages:\n  - tarball: https://example.com/p.tar.gz\n    name: p\n' > "$W/root/packages.yml"
run
expect "tarball: exit 2" 2 "$rc"
has "tarball: message" "packages.yml:2:5: error: Tarball package 'https://example.com/p.tar.gz' cannot be installed: cdbt has no HTTP client" "$err"
rm -rf "$W/root/dbt_packages" "$W/root/package-lock.yml"

# ---- errors in packages.yml
printf 'packages:\n  - local: ../localpkg\n    foo: 1\n' > "$W/root/packages.yml"
run
expect "unknown key: exit 2" 2 "$rc"
expect "unknown key: message" "packages.yml:3:5: error: Invalid package entry in packages.yml: unknown key 'foo' for a local package (allowed: local)
    3 |     foo: 1
      |     ^" "$err"
printf 'packages:\n  - git: "%s"\n    revison: v1.0\n' "$URL" > "$W/root/packages.yml"
run
expect "misspelt git key: message" "packages.yml:3:5: error: Invalid package entry in packages.yml: unknown key 'revison' for a git package (allowed: git, revision, warn-unpinned, subdirectory)
    3 |     revison: v1.0
      |     ^" "$err"
printf 'packages:\n  - local: [a\n' > "$W/root/packages.yml"
run
expect "malformed YAML: exit 2" 2 "$rc"
has "malformed YAML: located" "packages.yml:3:1: error:" "$err"
printf 'packages:\n  - local: 3\n' > "$W/root/packages.yml"
run
expect "wrong type: message" "packages.yml:2:12: error: Invalid value for 'local' in packages.yml: expected a string, got integer
    2 |   - local: 3
      |            ^" "$err"
printf 'packages:\n  - revision: v1\n' > "$W/root/packages.yml"
run
expect "no source key: message" "packages.yml:2:5: error: Invalid package entry in packages.yml: it needs one of the keys 'local', 'git', 'package' or 'tarball'
    2 |   - revision: v1
      |     ^" "$err"
printf 'pakages: []\n' > "$W/root/packages.yml"
run
expect "unknown top-level key: message" "packages.yml:1:1: error: Invalid packages.yml: unknown top-level key 'pakages' (expected 'packages')
    1 | pakages: []
      | ^" "$err"
printf 'packages:\n  - local: ../nowhere\n' > "$W/root/packages.yml"
run
expect "local path without a project: exit 2" 2 "$rc"
expect "local path without a project: message" "packages.yml:2:5: error: No dbt_project.yml found at expected path $W/nowhere/dbt_project.yml
Verify that each entry within packages.yml (and their transitive dependencies) contains a file named dbt_project.yml
    2 |   - local: ../nowhere
      |     ^" "$err"
printf 'packages:\n  - git: "%s"\n    revision: no-such-tag\n' "$URL" > "$W/root/packages.yml"
run
expect "missing git revision: exit 2" 2 "$rc"
expect "missing git revision: message" "packages.yml:2:5: error: Error checking out spec='no-such-tag' for repo $URL
    2 |   - git: \"$URL\"
      |     ^
  git: fatal: couldn't find remote ref no-such-tag" "$err"
printf 'packages:\n  - git: "%s"\n    revision: v1.0\n  - git: "%s.git"\n    revision: main\n' "$URL" "${URL%.git}" > "$W/root/packages.yml"
run
expect "two revisions of one git package: exit 2" 2 "$rc"
expect "two revisions of one git package: message" "packages.yml:4:5: error: git dependencies should contain exactly one version. $URL contains: {'v1.0', 'main'}
    4 |   - git: \"${URL%.git}.git\"
      |     ^" "$err"
printf 'packages:\n  - local: ../localpkg\n  - local: ./../localpkg\n' > "$W/root/packages.yml"
run
expect "two packages named alike: message" "packages.yml:3:5: error: Found duplicate project \"my_local\". This occurs when a dependency has the same project name as some other dependency.
    3 |   - local: ./../localpkg
      |     ^" "$err"
mkdir -p "$W/samename" && printf 'name: root_proj\n' > "$W/samename/dbt_project.yml"
printf 'packages:\n  - local: ../samename\n' > "$W/root/packages.yml"
run
expect "package named like the root project: exit 2" 2 "$rc"
has "package named like the root project: message" "Found a dependency with the same name as the root project \"root_proj\"" "$err"
# no git on PATH
printf 'packages:\n  - git: "%s"\n    revision: v1.0\n' "$URL" > "$W/root/packages.yml"
(cd "$W/root" && PATH=/nonexistent "$CDBT" deps >"$W/out" 2>"$W/err"); rc=$?
expect "no git: exit 2" 2 "$rc"
expect "no git: message" "packages.yml:2:5: error: git is not installed (no \`git\` on PATH): cdbt runs the system git to install git packages. Make sure git is installed on your machine. More information: https://docs.getdbt.com/docs/package-management
    2 |   - git: \"$URL\"
      |     ^" "$(cat "$W/err")"
# the install path may not be the project itself
printf 'name: root_proj\nprofile: nothing\npackages-install-path: "."\n' > "$W/root/dbt_project.yml"
run
expect "install path = project: exit 2" 2 "$rc"
expect "install path = project: message" "error: packages-install-path '.' is the project directory, one of its parents or one of its source paths; refusing to empty it" "$err"
# a packages-install-path of its own
printf 'name: root_proj\nprofile: nothing\npackages-install-path: vendor/pkgs\n' > "$W/root/dbt_project.yml"
printf 'packages:\n  - local: ../localpkg\n' > "$W/root/packages.yml"
run
expect "packages-install-path: exit 0" 0 "$rc"
[ -L "$W/root/vendor/pkgs/my_local" ] && ok || bad "packages-install-path: installed there"

echo "deps.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
