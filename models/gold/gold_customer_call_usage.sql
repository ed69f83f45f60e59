-- Calls and minutes per customer, over all of the customer's phone lines.
with calls as (

    select * from {{ ref('stg_callrecords') }}

),

lines as (

    select * from {{ ref('stg_phonenumber') }}

)

select
    c.customer_id,
    c.full_name,
    c.segment,
    count(cr.call_id) as calls,
    coalesce(round(sum(cr.duration_seconds) / 60.0, 2), 0) as total_minutes,
    count(cr.call_id) filter (where cr.call_type in ('international', 'roaming')) as international_calls
from {{ ref('stg_customer') }} c
left join lines l on l.customer_id = c.customer_id
left join calls cr on cr.phone_number_id = l.phone_number_id
group by c.customer_id, c.full_name, c.segment
