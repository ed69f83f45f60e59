-- An order marked delivered has a tracking record that says delivered; a
-- cancelled order has no tracking record.
select o.order_id, o.order_status, t.tracking_status
from {{ ref('stg_orders') }} o
left join {{ ref('stg_tracking') }} t on t.order_id = o.order_id
where (o.order_status = 'delivered' and coalesce(t.tracking_status, '') <> 'delivered')
   or (o.order_status = 'cancelled' and t.tracking_id is not null)
