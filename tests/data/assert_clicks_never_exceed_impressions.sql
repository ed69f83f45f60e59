-- A campaign cannot be clicked more often than it is shown.
select campaign_id, impressions, clicks
from {{ ref('gold_campaign_performance') }}
where clicks > impressions
