{#- Money helpers.  Amounts are summed in integer cents so that totals never
    drift, and turned back into currency for display. -#}

{# numeric currency amount -> bigint cents #}
{% macro to_cents(column_name) -%}
    round(({{ column_name }}) * 100)::bigint
{%- endmacro %}

{# bigint cents -> numeric currency amount #}
{% macro cents_to_dollars(column_name, scale=2) -%}
    ({{ column_name }} / 100.0)::numeric(16, {{ scale }})
{%- endmacro %}

{# any numeric expression -> a currency amount rounded half away from zero #}
{% macro money(expression, scale=2) -%}
    round(({{ expression }})::numeric, {{ scale }})::numeric(16, {{ scale }})
{%- endmacro %}

{# a ratio that is NULL instead of a division by zero #}
{% macro safe_ratio(numerator, denominator, scale=4) -%}
    round(({{ numerator }})::numeric / nullif({{ denominator }}, 0), {{ scale }})
{%- endmacro %}
