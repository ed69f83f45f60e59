-- Every active phone line has an active SIM.
select p.phone_number_id
from {{ ref('stg_phonenumber') }} p
left join {{ ref('stg_simdata') }} s on s.phone_number_id = p.phone_number_id and s.sim_status = 'active'
where p.line_status = 'active' and s.sim_id is null
