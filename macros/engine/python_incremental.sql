{#- dbt-duckdb writes the new rows of an incremental dbt Python model into a regular table
    (`<model>__dbt_tmp<time>`: Python results are never created as temporary tables), yet tells
    its incremental materialization that the table is temporary, so the materialization never
    drops it. For Python models this says what the table is, and the materialization drops it
    after the run as it does any non-temporary intermediate table; everything else goes to
    dbt-duckdb's own macro. -#}
{% macro duckdb__dispatch_temporary_relation(target_relation, batch_id='') %}
    {%- if model.language == 'python' and not adapter.is_motherduck() -%}
        {%- do return({'relation': make_temp_relation(target_relation), 'temporary': false}) -%}
    {%- endif -%}
    {%- do return(dbt.duckdb__dispatch_temporary_relation(target_relation, batch_id)) -%}
{% endmacro %}
