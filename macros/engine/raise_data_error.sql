{#- Stops the query with `message_sql` (a SQL string expression) on the rows it is evaluated
    for, so a failing data test prints its reason; adapters without such a function return the
    message and the test fails the usual way. -#}

{% macro raise_data_error(message_sql) -%}
    {{ return(adapter.dispatch('raise_data_error', 'marketplace_governance')(message_sql)) }}
{%- endmacro %}

{% macro spark__raise_data_error(message_sql) -%}
    raise_error({{ message_sql }})
{%- endmacro %}

{% macro default__raise_data_error(message_sql) -%}
    {{ message_sql }}
{%- endmacro %}

{% macro duckdb__raise_data_error(message_sql) -%}
    error({{ message_sql }})
{%- endmacro %}
