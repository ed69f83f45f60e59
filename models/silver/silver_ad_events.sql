-- Silver: bronze_ad_events typed, validated and deduplicated by the cleanse
-- materialization.  Column rules are in _silver.yml; rows failing a rule
-- land in silver_ad_events__rejects with the column, rule and raw value.
{{ config(materialized='cleanse') }}
select * from {{ ref('bronze_ad_events') }}
