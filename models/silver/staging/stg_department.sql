select
    department_id,
    department_name,
    cost_center
from {{ ref('department') }}
