-- Bronze: the social media posts, one JSON object per line (landing/social/*.ndjson), loaded as text
-- exactly as landed.  File input, format and columns are declared in
-- _bronze.yml; new landing files are appended, files already loaded are skipped.
{{ config(materialized='cleanse') }}
