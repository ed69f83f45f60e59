-- Requests per HTTP status code, with the status class (2xx, 3xx, ...).
select
    status_code,
    (status_code / 100)::text || 'xx' as status_class,
    count(*) as requests,
    count(distinct client_ip) as distinct_clients
from {{ ref('silver_web_requests') }}
group by status_code
