select
    plan_id,
    plan_name,
    plan_type,
    monthly_fee,
    data_gb,
    included_minutes
from {{ ref('plans') }}
