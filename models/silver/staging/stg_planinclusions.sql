select
    inclusion_id,
    plan_id,
    inclusion_type,
    description,
    quantity
from {{ ref('planinclusions') }}
