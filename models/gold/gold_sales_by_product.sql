-- Total device sales per product from the customer transactions feed.
-- Amounts are summed in cents and converted back, so totals are exact.
with transactions as (

    select * from {{ ref('silver_transactions') }}

),

products as (

    select * from {{ ref('stg_products') }}

)

select
    t.product_code,
    p.brand,
    p.model,
    count(*) as orders,
    sum(t.quantity) as units,
    {{ cents_to_dollars('sum(' ~ to_cents('t.quantity * t.unit_price') ~ ')') }} as total_sales,
    min(t.transaction_date) as first_sale_date,
    max(t.transaction_date) as last_sale_date
from transactions t
left join products p on p.product_code = t.product_code
group by t.product_code, p.brand, p.model
