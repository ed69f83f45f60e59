select
    customer_id,
    first_name,
    last_name,
    first_name || ' ' || last_name as full_name,
    lower(email) as email,
    city,
    segment,
    signup_date
from {{ ref('customer') }}
