select
    call_id,
    phone_number_id,
    called_number,
    call_start as call_started_at,
    duration_seconds,
    round(duration_seconds / 60.0, 2) as duration_minutes,
    call_type
from {{ ref('callrecords') }}
