-- Silver: bronze_web_requests typed, validated and deduplicated by the cleanse
-- materialization.  Column rules are in _silver.yml; rows failing a rule
-- land in silver_web_requests__rejects with the column, rule and raw value.
{{ config(materialized='cleanse') }}
select * from {{ ref('bronze_web_requests') }}
