{#- dbt's `unique` test, with an optional `latest_rows_of` that limits a nightly build's check to
    the keys it wrote (see `duplicate_keys` in macros/tests/uniqueness.sql), and an optional
    `raw_rows_of` for the key of a raw source: the source's staging base model, which holds
    every raw row, typed, with its key and disposition, is searched instead of the raw files
    (see `repeated_raw_keys`). -#}
{% test unique(model, column_name, latest_rows_of=none, raw_rows_of=none) %}
    {%- if raw_rows_of is not none %}
    {{ repeated_raw_keys(column_name, raw_rows_of) }}
    {%- else %}
    {{ duplicate_keys(model, [column_name], latest_rows_of, ignore_nulls=true) }}
    {%- endif %}
{% endtest %}
