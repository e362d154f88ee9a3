{#- Casts a raw value to a contract type, null when it does not parse (dbt.safe_cast is a plain
    cast on DuckDB). -#}

{% macro try_cast_value(column, data_type) -%}
    {{ return(adapter.dispatch('try_cast_value', 'marketplace_governance')(column, data_type)) }}
{%- endmacro %}

{% macro default__try_cast_value(column, data_type) -%}
    {{ dbt.safe_cast(column, data_type) }}
{%- endmacro %}

{% macro duckdb__try_cast_value(column, data_type) -%}
    try_cast({{ column }} as {{ data_type }})
{%- endmacro %}

{% macro spark__try_cast_value(column, data_type) -%}
    try_cast({{ column }} as {{ data_type }})
{%- endmacro %}
