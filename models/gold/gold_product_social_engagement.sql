-- Social media engagement per product: posts, average likes, shares.
with posts as (

    select * from {{ ref('silver_social_posts') }}

)

select
    p.product_code,
    pr.brand,
    pr.model,
    count(*) as posts,
    round(avg(p.likes), 2) as avg_likes,
    sum(p.likes) as total_likes,
    sum(p.shares) as total_shares,
    count(distinct p.author_handle) as distinct_authors
from posts p
left join {{ ref('stg_products') }} pr on pr.product_code = p.product_code
group by p.product_code, pr.brand, pr.model
