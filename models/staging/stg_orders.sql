{{ config(materialized='ephemeral') }}

select
    id as order_id,
    user_id as customer_id,
    order_date::date as order_date,
    status,
    {{ cents_to_dollars('amount_cents') }} as amount
from {{ ref('raw_orders') }}
