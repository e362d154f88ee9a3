{#- Empties DuckDB's buffer pool before a dbt Python model builds its pandas frames in the same
    process. DuckDB keeps the pages the SQL models before it read, up to `memory_limit` (6 GB by
    default), and the model's frames come on top: at the large tier that made the risk model's
    training the peak of the whole build. Lowering the limit for a moment makes DuckDB evict
    those pages (they are read again from the file when needed); the profile's limit is then
    set back. Nothing to do on other engines. -#}
{% macro release_engine_memory() -%}
    {{ return(adapter.dispatch('release_engine_memory')()) }}
{%- endmacro %}

{% macro default__release_engine_memory() -%}
{%- endmacro %}

{% macro duckdb__release_engine_memory() -%}
    {%- if execute -%}
        {%- set configured = (target.get('settings') or {}).get('memory_limit') -%}
        {%- set limit = configured or run_query(
            "select current_setting('memory_limit')"
        ).columns[0].values()[0] -%}
        {%- do run_query("set memory_limit = '1GB'") -%}
        {%- do run_query("set memory_limit = '" ~ limit ~ "'") -%}
    {%- endif -%}
{%- endmacro %}
