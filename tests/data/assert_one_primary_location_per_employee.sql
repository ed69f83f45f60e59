-- Every employee has exactly one primary work location.
select e.employee_id, count(ewl.location_id) filter (where ewl.is_primary) as primary_locations
from {{ ref('stg_employee') }} e
left join {{ ref('stg_employeeworklocation') }} ewl on ewl.employee_id = e.employee_id
group by e.employee_id
having count(ewl.location_id) filter (where ewl.is_primary) <> 1
