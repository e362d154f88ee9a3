{#- Nightly runs of the staging base models (models/staging/marketplace/base), incremental on
    DuckDB. Raw files are immutable once delivered (the raw-data contract): a night reads only
    the files not loaded yet, and re-ranks with their rows the rows already loaded whose
    disposition they can change: the valid versions of the records that arrive again, and the
    rows quarantined as orphans (their parent may have arrived). The result is the table a full
    build of the same files gives; `governance nightly --full-refresh` reloads every file (after
    a delivered file was rewritten in place, say). -#}


{#- The raw files of `table_name` a base model has not loaded yet (its typed read reads only
    those, macros/raw/typed_read.sql). DuckDB only: the files of the source's read_parquet pattern
    whose name is not yet in this model. A loaded file that is gone, or whose row count changed,
    stops the run: the table would no longer match its files. -#}
{% macro unloaded_raw_files(table_name) -%}
    {%- if target.type != 'duckdb' -%}
        {{ exceptions.raise_compiler_error(
            "incremental base models read only the new raw files on DuckDB: add an implementation for adapter '" ~ adapter.type() ~ "' in macros/incremental/unloaded_files.sql"
        ) }}
    {%- endif -%}
    {%- set pattern = raw_files_pattern(source('marketplace', table_name)) -%}
    {#- One row per file, present in the folder or loaded into this model (the file name the
        same way raw_row_lineage takes it). -#}
    {%- set files = run_query(
        "select coalesce(present.source_file, loaded.source_file), present.file_name, present.num_rows, loaded.loaded_rows"
        ~ " from (select file_name, regexp_extract(file_name, '[^/\\\\]+$') as source_file, num_rows"
        ~ " from parquet_file_metadata('" ~ (pattern | replace("'", "''")) ~ "')) as present"
        ~ " full outer join (select source_file, count(*) as loaded_rows from " ~ this ~ " group by source_file) as loaded"
        ~ " on present.source_file = loaded.source_file order by 1"
    ) -%}
    {%- set unloaded = [] -%}
    {%- for name, path, file_rows, loaded_rows in files -%}
        {%- if loaded_rows is none -%}
            {%- do unloaded.append(path) -%}
        {%- elif path is none -%}
            {{ exceptions.raise_compiler_error("raw table '" ~ table_name ~ "', file '" ~ name ~ "': loaded on an earlier night, no longer in the raw folder (rule: delivered raw files are never removed). Run `governance nightly --full-refresh` to rebuild from the files as they are now.") }}
        {%- elif (file_rows | int) != (loaded_rows | int) -%}
            {{ exceptions.raise_compiler_error("raw table '" ~ table_name ~ "', file '" ~ name ~ "': loaded on an earlier night with " ~ (loaded_rows | int) ~ " rows, now has " ~ (file_rows | int) ~ " (rule: delivered raw files never change). Run `governance nightly --full-refresh` to rebuild from the files as they are now.") }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(unloaded) }}
{%- endmacro %}


{#- The rows a base model ranks into versions: the checked rows of the files read (CTE
    `checked_cte`) and, on an incremental run, the loaded rows whose disposition they can change,
    from this model. `columns` are the model's typed columns between the lineage and the rule
    columns, `key_column` the record key. -#}
{% macro rows_to_version(checked_cte, key_column, columns) -%}
    select
        source_file,
        file_row_number,
        arrived_night,
        contract_column,
        unparseable_column,
        {%- for column in columns %}
        {{ column }},
        {%- endfor %}
        quarantine_rule,
        quarantine_column,
        cast(null as {{ dbt.type_string() }}) as disposition_before
    from {{ checked_cte }}
    {%- if is_incremental() %}

    union all

    select
        loaded.source_file,
        loaded.file_row_number,
        loaded.arrived_night,
        cast(null as {{ dbt.type_string() }}) as contract_column,
        cast(null as {{ dbt.type_string() }}) as unparseable_column,
        {%- for column in columns %}
        loaded.{{ column }},
        {%- endfor %}
        cast(null as {{ dbt.type_string() }}) as quarantine_rule,
        cast(null as {{ dbt.type_string() }}) as quarantine_column,
        loaded.disposition as disposition_before
    from {{ this }} as loaded
    {#- The rows to re-rank are found on the few columns that decide it, then read whole: a
        filter on whole rows reads every column of every loaded row (large tier, orders: 13 s
        a night against 4 s). A night that re-delivers many loaded records pays a join for it
        instead (290k re-delivered orders: 32 s against 23 s). #}
    inner join (
        select
            reranked.source_file,
            reranked.file_row_number
        from {{ this }} as reranked
        where
            reranked.rule_name = 'orphan_foreign_key'
            or (
                reranked.disposition in ('staged', 'superseded')
                and reranked.record_key in (
                    select arriving.{{ key_column }}
                    from {{ checked_cte }} as arriving
                    where arriving.quarantine_rule is null
                )
            )
    ) as to_rerank
        on
            loaded.source_file = to_rerank.source_file
            and loaded.file_row_number = to_rerank.file_row_number
    {%- endif %}
{%- endmacro %}
