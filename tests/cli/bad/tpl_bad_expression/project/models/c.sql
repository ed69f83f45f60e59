select {{ 1 + }} as y
