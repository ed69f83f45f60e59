  {%- if x -%}
 a {{- y -}} 
{%- elif z %}{# c #}{% else %}{% raw %}{{ r }}{% endraw %}{% endif %}
