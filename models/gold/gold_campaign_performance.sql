-- Impressions, clicks, click-through rate and spend per ad campaign.
with events as (

    select * from {{ ref('silver_ad_events') }}

),

campaigns as (

    select * from {{ ref('stg_campaigns') }}

),

per_campaign as (

    select
        campaign_id,
        count(*) filter (where event_type = 'impression') as impressions,
        count(*) filter (where event_type = 'click') as clicks,
        sum(cost) as spend,
        min(event_at) as first_event_at,
        max(event_at) as last_event_at
    from events
    group by campaign_id

)

select
    e.campaign_id,
    c.campaign_name,
    c.channel,
    c.product_code,
    e.impressions,
    e.clicks,
    {{ safe_ratio('e.clicks', 'e.impressions', 4) }} as ctr,
    e.spend,
    {{ safe_ratio('e.spend', 'e.clicks', 4) }} as cost_per_click,
    e.first_event_at,
    e.last_event_at
from per_campaign e
left join campaigns c on c.campaign_id = e.campaign_id
