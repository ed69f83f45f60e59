select '{{ 'x' | shout }}' as y
