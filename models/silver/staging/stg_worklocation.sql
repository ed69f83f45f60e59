select
    location_id,
    location_name,
    city,
    country as country_code,
    location_type
from {{ ref('worklocation') }}
