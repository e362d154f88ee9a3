{#- Uniqueness checks shared by the `unique` and `unique_key_combination` tests. -#}

{#- The rows of `model` whose `columns` repeat: one row per repeated key, with `n_records`.
    With `latest_rows_of` (a relation with a `processed_at` column: an incremental model, or the
    base model under a staging view) that also holds rows of earlier builds, only the keys among
    the rows its latest build wrote are checked, each against every row of `model`: a nightly
    build checks what it wrote instead of re-reading the history earlier builds checked. After a
    full build every row is new, so every key is checked. `ignore_nulls` leaves out keys with a
    null part (dbt's `unique` does). -#}
{% macro duplicate_keys(model, columns, latest_rows_of=none, ignore_nulls=false) -%}
    {%- set latest = latest_build_processed_at(latest_rows_of) %}
    select
        {%- for column in columns %}
        tested.{{ column }},
        {%- endfor %}
        count(*) as n_records
    from {{ model }} as tested
    {%- if latest is not none %}
    inner join (
        select distinct {{ columns | join(', ') }}
        from {{ latest_rows_of }}
        where processed_at = {{ latest }}
    ) as written
        on
            {%- for column in columns %}
            {% if not loop.first %}and {% endif %}tested.{{ column }} = written.{{ column }}
            {%- endfor %}
    {%- endif %}
    {%- if ignore_nulls %}
    where
        {%- for column in columns %}
        {% if not loop.first %}and {% endif %}tested.{{ column }} is not null
        {%- endfor %}
    {%- endif %}
    group by
        {%- for column in columns %}
        tested.{{ column }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    having count(*) > 1
{%- endmacro %}


{#- For the uniqueness tests: the `processed_at` of the latest build's rows in `relation`, as a
    timestamp literal, when `relation` also holds rows written by earlier builds; none when
    `relation` is none, not built yet, empty, or wholly written by its latest build (check
    everything). -#}
{% macro latest_build_processed_at(relation) -%}
    {%- if relation is none or not execute or load_relation(relation) is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set bounds = run_query(
        'select cast(min(processed_at) as ' ~ dbt.type_string() ~ '), cast(max(processed_at) as '
        ~ dbt.type_string() ~ ') from ' ~ relation
    ) -%}
    {%- set first, latest = bounds.rows[0][0], bounds.rows[0][1] -%}
    {%- if latest is none or first == latest -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return("cast('" ~ latest ~ "' as " ~ dbt.type_timestamp() ~ ")") }}
{%- endmacro %}
