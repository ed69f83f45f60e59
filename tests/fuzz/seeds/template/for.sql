{% for i in [1,2,3] if i > 1 %}{{ loop.index }}{% else %}x{% endfor %}
