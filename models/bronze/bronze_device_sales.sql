-- Bronze: the device sales feed, CSV batches (landing/device_sales/*.csv), loaded as text
-- exactly as landed.  File input, format and columns are declared in
-- _bronze.yml; new landing files are appended, files already loaded are skipped.
{{ config(materialized='cleanse') }}
