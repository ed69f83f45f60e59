select {{ 1 if 3 is prime else 0 }} as y
