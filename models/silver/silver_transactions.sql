-- Silver: bronze_transactions typed, validated and deduplicated by the cleanse
-- materialization.  Column rules are in _silver.yml; rows failing a rule
-- land in silver_transactions__rejects with the column, rule and raw value.
{{ config(materialized='cleanse') }}
select * from {{ ref('bronze_transactions') }}
