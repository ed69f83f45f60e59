-- Junk dimension: the low-cardinality flags of a sale (region and
-- classification) folded into one small dimension with an MD5 key.
with profiles as (

    select distinct
        {{ var('sales_profile_attributes') | join(',\n        ') }}
    from {{ ref('silver_device_sales') }}

)

select
    {{ generate_surrogate_key(var('sales_profile_attributes')) }} as sales_profile_key,
    region,
    classification
from profiles
