{#- Uniqueness checks shared by the `unique` and `unique_key_combination` tests.

    A key is proved unique with an aggregate over every key where it is established, and where
    a later layer could break it is checked for what that layer could break:
    - raw keys (warnings: a raw export may repeat a record) are looked up in the staging base
      models, which hold every raw row (`repeated_raw_keys`);
    - the base models' row key (source_file, file_row_number) is established by the raw read;
      a base model could only fan a raw row out, which `one_row_per_raw_row` finds from the
      rows and row numbers of each file;
    - record keys are established by staging's version ranking: the `stg_marketplace__*`
      views' `unique` tests;
    - a fact that filters and joins (fct_completed_orders) keeps its own `unique` test, on the
      keys its latest build wrote (`latest_rows_of`). -#}

{#- The rows of `model` whose `columns` repeat: one row per repeated key, with `n_records`.
    With `latest_rows_of` (a relation with a `processed_at` column: an incremental model, or the
    base model under a staging view) that also holds rows of earlier builds, only the keys among
    the rows its latest build wrote are checked, each against every row of `model`: a nightly
    build checks what it wrote instead of re-reading the history earlier builds checked. After a
    full build every row is new, so every key is checked (`latest_build_processed_at`, in
    written_rows.sql). `ignore_nulls` leaves out keys with a null part (dbt's `unique` does). -#}
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


{#- The keys read more than once from a raw source, one row per key with `n_records`, found in
    the source's staging base model `raw_rows_of` (every raw row, typed, with its `record_key`
    and disposition) instead of in the raw files. At most one version of a key is staged (the
    staging views' uniqueness tests), so every key read more than once has a row that is not
    staged: only the keys of those few rows are counted, one pass over two columns instead of
    an aggregate over every raw key (10.5M raw orders: 0.1 s of CPU time against 1.5 s).
    Same rows as dbt's `unique` over the raw files: each raw row is one row of the base model. -#}
{% macro repeated_raw_keys(column_name, raw_rows_of) -%}
    select
        record_key as {{ column_name }},
        count(*) as n_records
    from {{ raw_rows_of }}
    where record_key in (
        select not_staged.record_key
        from {{ raw_rows_of }} as not_staged
        where
            not_staged.disposition <> 'staged'
            and not_staged.record_key is not null
    )
    group by record_key
    having count(*) > 1
{%- endmacro %}


{#- The raw rows whose `column_name` names a record that no raw row of the parent table holds,
    as dbt's `relationships` test over the raw files finds them (one row per raw row,
    `from_field`), found in the staging base models `rows_of` (child) and `to_rows_of` (parent,
    keyed by `record_key`). Staging stages a row only when the record it names is staged (the
    rule orphan_foreign_key), so only the child's few rows that are not staged can name a
    missing record: they alone are looked up, instead of every raw row (10.5M raw orders). -#}
{% macro orphan_raw_references(column_name, rows_of, to_rows_of) -%}
    select child.{{ column_name }} as from_field
    from {{ rows_of }} as child
    left join {{ to_rows_of }} as parent
        on child.{{ column_name }} = parent.record_key
    where
        child.disposition <> 'staged'
        and child.{{ column_name }} is not null
        and parent.record_key is null
{%- endmacro %}
