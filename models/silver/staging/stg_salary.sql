select
    salary_id,
    employee_id,
    pay_month,
    gross_amount,
    bonus_amount,
    gross_amount + bonus_amount as total_pay
from {{ ref('salary') }}
