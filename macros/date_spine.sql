{#- One row per `datepart` from start_date (inclusive) to end_date
    (exclusive), as a column named date_<datepart>:

        {{ date_spine('day', "'2026-01-01'::date", "'2027-01-01'::date") }}
-#}
{% macro date_spine(datepart, start_date, end_date) -%}
    select spine::date as date_{{ datepart }}
    from generate_series(
        cast({{ start_date }} as timestamp),
        cast({{ end_date }} as timestamp) - interval '1 {{ datepart }}',
        interval '1 {{ datepart }}'
    ) as spine
{%- endmacro %}
