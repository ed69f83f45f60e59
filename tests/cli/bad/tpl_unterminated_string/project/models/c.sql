select {{ 'abc }} as y
