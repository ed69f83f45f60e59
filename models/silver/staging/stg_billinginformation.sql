select
    bill_id,
    customer_id,
    phone_number_id,
    plan_id,
    billing_month,
    amount_due,
    amount_paid,
    amount_due - amount_paid as amount_outstanding,
    payment_status
from {{ ref('billinginformation') }}
