{#- Fails for every row where the SQL expression is not true.  On a column
    the expression is appended to the column name:
        - expression_is_true: {expression: ">= order_date"}            # column test
        - expression_is_true: {expression: "amount_paid <= amount_due"} # model test
-#}
{% test expression_is_true(model, expression, column_name=none) %}

select *
from {{ model }}
where not ({{ column_name ~ ' ' if column_name is not none else '' }}{{ expression }})

{% endtest %}
