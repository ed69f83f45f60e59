-- Device sales fact: one row per sale line with its measures and the keys of
-- dim_device, dim_sales_profile and dim_date.  Incremental and idempotent:
-- each run re-reads the newest landed batch and merges on sale_id
-- (delete+insert), so a re-delivered or re-run batch adds no duplicates.
{{
    config(
        materialized='incremental',
        unique_key='sale_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail'
    )
}}

with sales as (

    select * from {{ ref('silver_device_sales') }}
    {% if is_incremental() %}
    where batch_id >= (select coalesce(max(batch_id), 0) from {{ this }})
    {% endif %}

)

select
    s.sale_id,
    {{ generate_surrogate_key(var('device_attributes'), prefix='s.') }} as device_key,
    {{ generate_surrogate_key(var('sales_profile_attributes'), prefix='s.') }} as sales_profile_key,
    s.sale_date as date_day,
    s.batch_id,
    s.quantity,
    s.unit_price,
    s.discount,
    {{ money('s.quantity * s.unit_price - s.discount') }} as net_amount
from sales s
