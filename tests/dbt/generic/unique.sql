{#- dbt's `unique` test with an optional `latest_rows_of`: a relation with a `processed_at`
    column (an incremental model, or the base model under a staging view). When that relation
    also holds rows of earlier builds, only the values found among the rows its latest build
    wrote are checked, each against every row of the tested model: a nightly build checks what
    it wrote instead of re-reading the whole history, which earlier builds already checked. After
    a full build every row is new, so every value is checked. -#}
{% test unique(model, column_name, latest_rows_of=none) %}
    {%- set latest = latest_build_processed_at(latest_rows_of) %}
    select
        {{ column_name }} as unique_field,
        count(*) as n_records
    from {{ model }}
    where
        {{ column_name }} is not null
        {%- if latest is not none %}
        and {{ column_name }} in (
            select written.{{ column_name }}
            from {{ latest_rows_of }} as written
            where written.processed_at = {{ latest }}
        )
        {%- endif %}
    group by {{ column_name }}
    having count(*) > 1
{% endtest %}
