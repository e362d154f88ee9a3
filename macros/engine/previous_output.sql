{#- The table a dbt Python model built before, for models that resume from it (metric_anomalies
    keeps its rows up to the first day whose metrics changed). dbt-spark drops a table before it
    builds it again, so on Spark the pre-hook `keep_previous_output` first renames the table to
    `<name><previous_output_suffix>` (the model reads it there, governance.frames.previous_output)
    and the post-hook `drop_previous_output` drops that copy once the new table is written. On
    DuckDB the model reads its own table before dbt-duckdb replaces it: nothing to do. -#}
{% macro keep_previous_output() -%}
    {{ return(adapter.dispatch('keep_previous_output')()) }}
{%- endmacro %}

{% macro default__keep_previous_output() -%}
{%- endmacro %}

{% macro spark__keep_previous_output() -%}
    {%- if execute -%}
        {%- set kept = this.incorporate(path={"identifier": this.identifier ~ var('previous_output_suffix')}) -%}
        {%- set built = adapter.get_relation(database=this.database, schema=this.schema, identifier=this.identifier) -%}
        {%- if built is not none -%}
            {%- do run_query("drop table if exists " ~ kept) -%}
            {%- do run_query("alter table " ~ built ~ " rename to " ~ kept) -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{% macro drop_previous_output() -%}
    {{ return(adapter.dispatch('drop_previous_output')()) }}
{%- endmacro %}

{% macro default__drop_previous_output() -%}
{%- endmacro %}

{% macro spark__drop_previous_output() -%}
    {%- if execute -%}
        {%- set kept = this.incorporate(path={"identifier": this.identifier ~ var('previous_output_suffix')}) -%}
        {%- do run_query("drop table if exists " ~ kept) -%}
    {%- endif -%}
{%- endmacro %}
