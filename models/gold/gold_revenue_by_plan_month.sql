-- Billed and collected revenue per tariff plan and billing month.
with bills as (

    select * from {{ ref('stg_billinginformation') }}

)

select
    b.plan_id,
    p.plan_name,
    b.billing_month,
    count(*) as bills,
    count(distinct b.phone_number_id) as billed_lines,
    {{ cents_to_dollars('sum(' ~ to_cents('b.amount_due') ~ ')') }} as revenue_billed,
    {{ cents_to_dollars('sum(' ~ to_cents('b.amount_paid') ~ ')') }} as revenue_collected,
    {{ cents_to_dollars('sum(' ~ to_cents('b.amount_due - b.amount_paid') ~ ')') }} as revenue_outstanding
from bills b
join {{ ref('stg_plans') }} p on p.plan_id = b.plan_id
group by b.plan_id, p.plan_name, b.billing_month
