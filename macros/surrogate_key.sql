{#- An MD5 surrogate key over a list of columns, the way dbt_utils builds
    it: each value cast to text, NULL replaced by a marker, joined by '-'.
    The same values always give the same key, whichever model computes it
    (dim_device and fact_sales both call it over var('device_attributes')).

        {{ generate_surrogate_key(['brand', 'model']) }}
        {{ generate_surrogate_key(var('device_attributes'), prefix='s.') }}
-#}
{% macro generate_surrogate_key(field_list, prefix='') -%}
    {%- set fields = [] -%}
    {%- for field in field_list -%}
        {%- do fields.append(
            "coalesce(cast(" ~ prefix ~ field ~ " as text), '_dbt_utils_surrogate_key_null_')"
        ) -%}
        {%- if not loop.last -%}
            {%- do fields.append("'-'") -%}
        {%- endif -%}
    {%- endfor -%}
    md5(cast({{ fields | join(' || ') }} as text))
{%- endmacro %}
