select
    employee_id,
    location_id,
    is_primary,
    start_date
from {{ ref('employeeworklocation') }}
