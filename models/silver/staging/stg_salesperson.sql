select
    salesperson_id,
    employee_id,
    sales_region,
    commission_rate
from {{ ref('salesperson') }}
