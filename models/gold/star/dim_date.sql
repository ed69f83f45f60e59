-- Calendar dimension from the project's date spine macro.
with days as (

    {{ date_spine('day', "'" ~ var('calendar_start') ~ "'::date", "'" ~ var('calendar_end') ~ "'::date") }}

)

select
    date_day,
    extract(year from date_day)::integer as year,
    extract(month from date_day)::integer as month,
    to_char(date_day, 'YYYY-MM') as year_month,
    extract(isodow from date_day)::integer as day_of_week,
    extract(isodow from date_day) in (6, 7) as is_weekend
from days
