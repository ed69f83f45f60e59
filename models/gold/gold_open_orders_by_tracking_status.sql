-- Orders still open (var open_order_statuses) by delivery tracking status;
-- open orders without a tracking record show as 'untracked'.
with open_orders as (

    select * from {{ ref('stg_orders') }} where is_open

)

select
    coalesce(t.tracking_status, 'untracked') as tracking_status,
    count(*) as open_orders,
    {{ cents_to_dollars('sum(o.order_amount_cents)') }} as open_amount,
    min(o.order_date) as oldest_order_date
from open_orders o
left join {{ ref('stg_tracking') }} t on t.order_id = o.order_id
group by 1
