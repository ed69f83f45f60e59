select
    order_id,
    customer_id,
    salesperson_id,
    plan_id,
    order_date,
    order_amount,
    {{ to_cents('order_amount') }} as order_amount_cents,
    status as order_status,
    status in ({% for s in var('open_order_statuses') %}'{{ s }}'{% if not loop.last %}, {% endif %}{% endfor %}) as is_open
from {{ ref('orders') }}
