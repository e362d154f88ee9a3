{#- The config of a record-level model kept by whole keys between builds: on DuckDB (the nightly
    engine) incremental, delete+insert by `unique_key` (usually a day column: the days a night
    re-processes are deleted and written again), a changed column list failing the run until a
    full refresh; on any other engine a table built whole. Use as
    `{{ config(**incremental_by_key('ordered_date')) }}`. -#}
{% macro incremental_by_key(unique_key) -%}
    {{ return(adapter.dispatch('incremental_by_key')(unique_key)) }}
{%- endmacro %}


{#- DuckDB, the nightly engine: the same settings, kept between builds. -#}
{% macro duckdb__incremental_by_key(unique_key) -%}
    {%- set config = default__incremental_by_key(unique_key) -%}
    {%- do config.update({'materialized': 'incremental'}) -%}
    {{ return(config) }}
{%- endmacro %}


{% macro default__incremental_by_key(unique_key) -%}
    {{ return({
        'materialized': 'table',
        'incremental_strategy': 'delete+insert',
        'unique_key': unique_key,
        'on_schema_change': 'fail',
    }) }}
{%- endmacro %}
