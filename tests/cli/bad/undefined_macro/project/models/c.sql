select {{ no_such_macro(1) }} as y
