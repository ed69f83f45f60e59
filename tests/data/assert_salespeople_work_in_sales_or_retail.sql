-- Only Sales and Retail Stores employees are salespeople.
select s.salesperson_id, d.department_name
from {{ ref('stg_salesperson') }} s
join {{ ref('stg_employee') }} e on e.employee_id = s.employee_id
join {{ ref('stg_department') }} d on d.department_id = e.department_id
where d.department_name not in ('Sales', 'Retail Stores')
