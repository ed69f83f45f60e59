select
    product_code,
    brand,
    model,
    category,
    list_price
from {{ ref('products') }}
