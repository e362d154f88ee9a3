{#- Fails for every row where `expression` is not true (rows where it is null pass: nulls are the business of not_null).
    Usage: data_tests: [expression_is_true: {arguments: {expression: "price_usd >= 0"}}] -#}
{% test expression_is_true(model, expression, column_name=none) %}
    select *
    from {{ model }}
    where not ({{ expression }})
{% endtest %}
