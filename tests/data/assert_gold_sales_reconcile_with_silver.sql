-- Gold sales per product add up to the cleansed transactions, to the cent.
with gold as (
    select coalesce(sum(total_sales), 0) as amount, coalesce(sum(orders), 0) as orders
    from {{ ref('gold_sales_by_product') }}
),
silver as (
    select coalesce(sum(quantity * unit_price), 0) as amount, count(*) as orders
    from {{ ref('silver_transactions') }}
)
select gold.amount as gold_amount, silver.amount as silver_amount,
       gold.orders as gold_orders, silver.orders as silver_orders
from gold, silver
where gold.amount <> silver.amount or gold.orders <> silver.orders
