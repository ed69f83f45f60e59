-- The incremental fact holds exactly the cleansed sales: no duplicates from
-- re-run batches, nothing lost.
select 'missing' as problem, s.sale_id
from {{ ref('silver_device_sales') }} s
left join {{ ref('fact_sales') }} f on f.sale_id = s.sale_id
where f.sale_id is null
union all
select 'extra', f.sale_id
from {{ ref('fact_sales') }} f
left join {{ ref('silver_device_sales') }} s on s.sale_id = f.sale_id
where s.sale_id is null
