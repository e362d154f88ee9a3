{#- A post-hook for incremental dbt Python models on DuckDB: drops the tables their incremental
    runs leave behind. dbt-duckdb writes a Python model's new rows into `<model>__dbt_tmp<time>`
    as a regular table (it does not create Python results as temporary tables) but, believing
    the table temporary, never drops it. Nothing to do on other engines. -#}
{% macro drop_python_incremental_leftovers() %}
    {%- if execute and target.type == 'duckdb' -%}
        {%- set leftovers = run_query(
            "select table_name from information_schema.tables"
            ~ " where table_catalog = '" ~ this.database ~ "'"
            ~ " and table_schema = '" ~ this.schema ~ "'"
            ~ " and starts_with(table_name, '" ~ this.identifier ~ "__dbt_tmp')"
        ) -%}
        {%- for row in leftovers.rows %}
            drop table if exists {{ this.incorporate(path={'identifier': row[0]}) }};
        {%- endfor %}
    {%- endif -%}
{% endmacro %}
