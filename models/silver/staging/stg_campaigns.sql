select
    campaign_id,
    campaign_name,
    channel,
    product_code,
    start_date,
    end_date,
    budget
from {{ ref('campaigns') }}
