-- A sale's net amount is quantity x unit price minus the discount, and the
-- discount never exceeds the gross amount.
select sale_id, quantity, unit_price, discount, net_amount
from {{ ref('fact_sales') }}
where net_amount <> quantity * unit_price - discount
   or discount > quantity * unit_price
