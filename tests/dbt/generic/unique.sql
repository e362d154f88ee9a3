{#- dbt's `unique` test, with an optional `latest_rows_of` that limits a nightly build's check to
    the keys it wrote (see `duplicate_keys` in macros/tests/uniqueness.sql). -#}
{% test unique(model, column_name, latest_rows_of=none) %}
    {{ duplicate_keys(model, [column_name], latest_rows_of, ignore_nulls=true) }}
{% endtest %}
