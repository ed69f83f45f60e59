-- Payroll per department: headcount, gross pay, bonuses and total.
with pay as (

    select
        e.department_id,
        s.employee_id,
        s.gross_amount,
        s.bonus_amount
    from {{ ref('stg_salary') }} s
    join {{ ref('stg_employee') }} e on e.employee_id = s.employee_id

)

select
    d.department_id,
    d.department_name,
    count(distinct pay.employee_id) as employees,
    {{ cents_to_dollars('coalesce(sum(' ~ to_cents('pay.gross_amount') ~ '), 0)') }} as total_gross,
    {{ cents_to_dollars('coalesce(sum(' ~ to_cents('pay.bonus_amount') ~ '), 0)') }} as total_bonus,
    {{ cents_to_dollars('coalesce(sum(' ~ to_cents('pay.gross_amount + pay.bonus_amount') ~ '), 0)') }} as total_payroll
from {{ ref('stg_department') }} d
left join pay on pay.department_id = d.department_id
group by d.department_id, d.department_name
