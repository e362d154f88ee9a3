{#- Fails for every combination of `columns` that appears more than once. With
    `latest_rows_of`, a nightly build checks only the combinations it wrote (see `duplicate_keys`
    in macros/tests/uniqueness.sql). -#}
{% test unique_key_combination(model, columns, latest_rows_of=none) %}
    {{ duplicate_keys(model, columns, latest_rows_of) }}
{% endtest %}
