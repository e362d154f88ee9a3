{#- dbt's `relationships` test, with optional `rows_of` and `to_rows_of` for a foreign key from
    one raw source to another: the sources' staging base models, which hold every raw row typed,
    are searched instead of the raw files (see `orphan_raw_references` in macros/uniqueness.sql). -#}
{% test relationships(model, column_name, to, field, rows_of=none, to_rows_of=none) %}
    {%- if rows_of is none %}
    {{ adapter.dispatch('test_relationships', 'dbt')(model, column_name, to, field) }}
    {%- else %}
    {{ orphan_raw_references(column_name, rows_of, to_rows_of) }}
    {%- endif %}
{% endtest %}
