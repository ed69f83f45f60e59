-- Device dimension: one row per device configuration.  The key is an MD5
-- over every descriptive attribute, so the same configuration always gets
-- the same key, whichever batch it first appeared in.
with configurations as (

    select distinct
        {{ var('device_attributes') | join(',\n        ') }}
    from {{ ref('silver_device_sales') }}

)

select
    {{ generate_surrogate_key(var('device_attributes'), prefix='c.') }} as device_key,
    c.brand,
    c.model,
    c.storage_gb,
    c.color,
    p.product_code,
    p.list_price
from configurations c
left join {{ ref('stg_products') }} p
    on p.brand = c.brand and p.model = c.model
