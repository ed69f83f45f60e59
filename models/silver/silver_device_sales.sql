-- Silver: bronze_device_sales typed, validated and deduplicated by the cleanse
-- materialization.  Column rules are in _silver.yml; rows failing a rule
-- land in silver_device_sales__rejects with the column, rule and raw value.
{{ config(materialized='cleanse') }}
select * from {{ ref('bronze_device_sales') }}
