select {{ m(1, 2) }} as y
