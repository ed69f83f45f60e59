#!/usr/bin/env bash
# builds tests/cli/bad/<case>/project from a minimal valid base + one defect
set -e
B=/work/main/tests/cli/bad
base() { # $1 = case dir
  local d="$B/$1/project"; rm -rf "$B/$1"; mkdir -p "$d/models" "$d/macros"
  cat >"$d/dbt_project.yml" <<'EOF'
name: bad
version: "1.0"
config-version: 2
profile: bad
EOF
  cat >"$d/profiles.yml" <<'EOF'
bad:
  target: dev
  outputs:
    dev:
      type: postgres
      host: localhost
      port: 5432
      user: u
      password: p
      dbname: d
      schema: s
EOF
  printf 'select 1 as id\n' >"$d/models/a.sql"
  printf 'select * from {{ ref('"'"'a'"'"') }}\n' >"$d/models/b.sql"
}
args() { echo "$2" >"$B/$1/args"; }
rc() { echo "$2" >"$B/$1/rc"; }
P() { echo "$B/$1/project"; }

base no_project_file; rm "$(P no_project_file)/dbt_project.yml"
base project_yaml_indent; printf 'name: bad\n  version: "1.0"\nprofile: bad\n' >"$(P project_yaml_indent)/dbt_project.yml"
base project_bad_name; sed -i 's/^name: bad/name: 1bad-name/' "$(P project_bad_name)/dbt_project.yml"
base project_config_version; sed -i 's/^config-version: 2/config-version: 1/' "$(P project_config_version)/dbt_project.yml"
base project_model_paths_type; echo 'model-paths: 3' >>"$(P project_model_paths_type)/dbt_project.yml"
base project_tests_and_data_tests; printf 'tests:\n  +severity: warn\ndata_tests:\n  +severity: warn\n' >>"$(P project_tests_and_data_tests)/dbt_project.yml"
base project_unknown_tag; echo 'vars: !foo {a: 1}' >>"$(P project_unknown_tag)/dbt_project.yml"
base profile_missing; sed -i 's/^profile: bad/profile: nope/' "$(P profile_missing)/dbt_project.yml"
base profile_bad_target; args profile_bad_target "compile --target prod"
base profile_bad_type; sed -i 's/type: postgres/type: mysql/' "$(P profile_bad_type)/profiles.yml"
base profile_tab; printf 'bad:\n\ttarget: dev\n' >"$(P profile_tab)/profiles.yml"
base profile_missing_key; sed -i '/schema: s/d' "$(P profile_missing_key)/profiles.yml"
base profile_env_var_missing; sed -i "s/host: localhost/host: \"{{ env_var('CDBT_TEST_NO_SUCH_VAR') }}\"/" "$(P profile_env_var_missing)/profiles.yml"
base schema_unclosed_quote; printf 'version: 2\nmodels:\n  - name: a\n    description: "oops\n' >"$(P schema_unclosed_quote)/models/schema.yml"
base schema_models_not_list; printf 'version: 2\nmodels:\n  name: a\n' >"$(P schema_models_not_list)/models/schema.yml"
base schema_entry_without_name; printf 'version: 2\nmodels:\n  - description: no name\n' >"$(P schema_entry_without_name)/models/schema.yml"
base schema_test_config_twice; printf 'version: 2\nmodels:\n  - name: a\n    columns:\n      - name: id\n        data_tests:\n          - unique:\n              severity: warn\n              config:\n                severity: error\n' >"$(P schema_test_config_twice)/models/schema.yml"
base duplicate_model; mkdir -p "$(P duplicate_model)/models/sub"; printf 'select 2 as id\n' >"$(P duplicate_model)/models/sub/a.sql"
base duplicate_macro; printf '{%% macro m() %%}1{%% endmacro %%}\n' >"$(P duplicate_macro)/macros/one.sql"; printf '{%% macro m() %%}2{%% endmacro %%}\n' >"$(P duplicate_macro)/macros/two.sql"
base invalid_utf8; printf 'select \xff\xfe as x\n' >"$(P invalid_utf8)/models/c.sql"
base tpl_unterminated_expr; printf 'select\n  {{ 1 + 2\nfrom x\n' >"$(P tpl_unterminated_expr)/models/c.sql"
base tpl_unclosed_for; printf '{%% set cols = ["a", "b"] %%}\nselect\n{%% for c in cols %%}\n  {{ c }},\n1 as id\n' >"$(P tpl_unclosed_for)/models/c.sql"
base tpl_unclosed_if; printf 'select 1\n{%% if true %%}\n, 2\n' >"$(P tpl_unclosed_if)/models/c.sql"
base tpl_stray_endif; printf 'select 1\n{%% endif %%}\n' >"$(P tpl_stray_endif)/models/c.sql"
base tpl_mismatched_end; printf '{%% for x in [1] %%}\n{{ x }}\n{%% endif %%}\n' >"$(P tpl_mismatched_end)/models/c.sql"
base tpl_unknown_tag; printf 'select 1\n{%% frobnicate %%}\n' >"$(P tpl_unknown_tag)/models/c.sql"
base tpl_unknown_filter; printf "select '{{ 'x' | shout }}' as y\n" >"$(P tpl_unknown_filter)/models/c.sql"
base tpl_unknown_test; printf "select {{ 1 if 3 is prime else 0 }} as y\n" >"$(P tpl_unknown_test)/models/c.sql"
base tpl_bad_expression; printf 'select {{ 1 + }} as y\n' >"$(P tpl_bad_expression)/models/c.sql"
base tpl_unterminated_string; printf "select {{ 'abc }} as y\n" >"$(P tpl_unterminated_string)/models/c.sql"
base tpl_unterminated_comment; printf 'select 1 {# never closed\n' >"$(P tpl_unterminated_comment)/models/c.sql"
base tpl_macro_file_syntax; printf '{%% macro m(a %%}\n{{ a }}\n{%% endmacro %%}\n' >"$(P tpl_macro_file_syntax)/macros/m.sql"
base undefined_macro; printf 'select {{ no_such_macro(1) }} as y\n' >"$(P undefined_macro)/models/c.sql"; rc undefined_macro 1
base raise_compiler_error; printf "{{ exceptions.raise_compiler_error('custom failure: ' ~ this.name) }}\nselect 1\n" >"$(P raise_compiler_error)/models/c.sql"; rc raise_compiler_error 2  # raised while parsing, as dbt does
base macro_too_many_args; printf '{%% macro m(a) %%}{{ a }}{%% endmacro %%}\n' >"$(P macro_too_many_args)/macros/m.sql"; printf 'select {{ m(1, 2) }} as y\n' >"$(P macro_too_many_args)/models/c.sql"; rc macro_too_many_args 2  # the call runs at parse time
base missing_var; printf "select {{ var('no_such_var') }} as y\n" >"$(P missing_var)/models/c.sql"; rc missing_var 1
base ref_missing; printf "select * from {{ ref('nope') }}\n" >"$(P ref_missing)/models/c.sql"
base ref_disabled; printf "{{ config(enabled=false) }}\nselect 1 as id\n" >"$(P ref_disabled)/models/a.sql"
base source_missing; printf "select * from {{ source('raw', 'orders') }}\n" >"$(P source_missing)/models/c.sql"
base cycle; printf "select * from {{ ref('b') }}\n" >"$(P cycle)/models/a.sql"
base vars_not_mapping; args vars_not_mapping "compile --vars [1,2]"
base vars_bad_yaml; args vars_bad_yaml "compile --vars '{a: [1}'"
base selector_at_plus; args selector_at_plus "ls --select @a+"
base selector_unknown_method; args selector_unknown_method "ls --select colour:red"
base unknown_flag; args unknown_flag "compile --frobnicate"
base option_missing_arg; args option_missing_arg "compile --threads"
base threads_not_int; args threads_not_int "compile --threads many"
base bad_resource_type; args bad_resource_type "ls --resource-type widget"
base bad_indirect_selection; args bad_indirect_selection "ls --indirect-selection sometimes"
base unknown_command; args unknown_command "frobnicate"
base bad_output_format; args bad_output_format "ls --output xml"
ls $B | wc -l
