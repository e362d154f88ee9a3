{#- The night this build ingests: var('ingest_date'), else the environment variable
    GOVERNANCE_INGEST_DATE (set by the nightly run), else the day the dbt run started. -#}

{% macro ingest_date() -%}
    {%- set night = validated_date_var('ingest_date', 'GOVERNANCE_INGEST_DATE') -%}
    cast('{{ night or run_started_at.strftime("%Y-%m-%d") }}' as date)
{%- endmacro %}


{#- Lineage of a raw row: the file it came from, its position in the file and the night it
    arrived (the YYYY-MM-DD date in the file name, else the ingest night). On DuckDB the source's
    external_location reads with `filename` and `file_row_number`; on Spark the file metadata
    columns give the same. -#}

{% macro raw_row_lineage() -%}
    {{ return(adapter.dispatch('raw_row_lineage', 'marketplace_governance')()) }}
{%- endmacro %}

{% macro default__raw_row_lineage() -%}
    {{ exceptions.raise_compiler_error(
        "raw_row_lineage has no implementation for adapter '" ~ adapter.type() ~ "': add one in macros/raw/lineage.sql"
    ) }}
{%- endmacro %}

{% macro duckdb__raw_row_lineage() -%}
    regexp_extract(filename, '[^/\\]+$') as source_file,
    cast(file_row_number as {{ dbt.type_bigint() }}) as file_row_number,
    coalesce(
        try_cast(nullif(regexp_extract(filename, '([0-9]{4}-[0-9]{2}-[0-9]{2})[^/\\]*$', 1), '') as date),
        {{ ingest_date() }}
    ) as arrived_night
{%- endmacro %}

{% macro spark__raw_row_lineage() -%}
    regexp_extract(_metadata.file_name, '[^/]+$', 0) as source_file,
    cast(_metadata.row_index as {{ dbt.type_bigint() }}) as file_row_number,
    coalesce(
        try_cast(nullif(regexp_extract(_metadata.file_name, '([0-9]{4}-[0-9]{2}-[0-9]{2})[^/]*$', 1), '') as date),
        {{ ingest_date() }}
    ) as arrived_night
{%- endmacro %}
