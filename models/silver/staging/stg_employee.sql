select
    employee_id,
    first_name,
    last_name,
    first_name || ' ' || last_name as full_name,
    lower(email) as email,
    department_id,
    job_title,
    hire_date,
    manager_id
from {{ ref('employee') }}
