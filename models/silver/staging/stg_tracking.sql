select
    tracking_id,
    order_id,
    carrier,
    tracking_number,
    tracking_status,
    last_update as last_updated_at
from {{ ref('tracking') }}
