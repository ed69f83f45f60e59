-- Orders, revenue and commission per salesperson (cancelled orders excluded
-- from revenue).
with orders as (

    select * from {{ ref('stg_orders') }}

),

people as (

    select
        s.salesperson_id,
        s.sales_region,
        s.commission_rate,
        e.full_name,
        d.department_name
    from {{ ref('stg_salesperson') }} s
    join {{ ref('stg_employee') }} e on e.employee_id = s.employee_id
    join {{ ref('stg_department') }} d on d.department_id = e.department_id

)

select
    p.salesperson_id,
    p.full_name,
    p.department_name,
    p.sales_region,
    count(o.order_id) as orders,
    count(o.order_id) filter (where o.order_status = 'delivered') as delivered_orders,
    count(o.order_id) filter (where o.order_status = 'cancelled') as cancelled_orders,
    {{ cents_to_dollars("coalesce(sum(o.order_amount_cents) filter (where o.order_status <> 'cancelled'), 0)") }} as revenue,
    {{ money("coalesce(sum(o.order_amount) filter (where o.order_status <> 'cancelled'), 0) * p.commission_rate") }} as commission
from people p
left join orders o on o.salesperson_id = p.salesperson_id
group by p.salesperson_id, p.full_name, p.department_name, p.sales_region, p.commission_rate
