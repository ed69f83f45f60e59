-- Bronze: the web server access log lines, Apache combined format (landing/weblogs/*.log), loaded as text
-- exactly as landed.  File input, format and columns are declared in
-- _bronze.yml; new landing files are appended, files already loaded are skipped.
{{ config(materialized='cleanse') }}
