-- Requests per hour of the day (UTC), with errors and bytes served.
select
    extract(hour from requested_at)::integer as hour_of_day,
    count(*) as requests,
    count(*) filter (where status_code >= 400) as error_requests,
    count(*) filter (where status_code >= 500) as server_errors,
    coalesce(sum(bytes_sent), 0) as bytes_sent
from {{ ref('silver_web_requests') }}
group by 1
