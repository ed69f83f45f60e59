select
    sim_id,
    phone_number_id,
    iccid,
    imsi,
    sim_type,
    status as sim_status
from {{ ref('simdata') }}
