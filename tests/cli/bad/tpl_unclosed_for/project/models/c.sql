{% set cols = ["a", "b"] %}
select
{% for c in cols %}
  {{ c }},
1 as id
