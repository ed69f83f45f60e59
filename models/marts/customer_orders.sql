{{ config(materialized='table') }}

with orders as (
    select * from {{ ref('stg_orders') }}
),

per_customer as (
    select
        customer_id,
        count(*) as order_count,
        sum(amount) as lifetime_value
        {%- for status in var('order_statuses') %},
        sum(case when status = '{{ status }}' then amount else 0 end) as {{ status }}_amount
        {%- endfor %}
    from orders
    group by customer_id
)

select
    c.customer_id,
    c.first_name,
    coalesce(p.order_count, 0) as order_count,
    coalesce(p.lifetime_value, 0) as lifetime_value
from {{ ref('stg_customers') }} c
left join per_customer p using (customer_id)
