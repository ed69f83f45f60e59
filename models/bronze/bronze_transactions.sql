-- Bronze: the customer transactions CSV (landing/transactions/*.csv), loaded as text
-- exactly as landed.  File input, format and columns are declared in
-- _bronze.yml; new landing files are appended, files already loaded are skipped.
{{ config(materialized='cleanse') }}
