select
    phone_number_id,
    customer_id,
    phone_number,
    plan_id,
    activation_date,
    status as line_status
from {{ ref('phonenumber') }}
