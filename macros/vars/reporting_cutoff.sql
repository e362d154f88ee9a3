{#- The end of the reporting day (int_as_of_date.cutoff_at) as a timestamp literal, read when
    the model runs, for filters on large tables. A filter on a constant lets the engine estimate
    how many rows pass it; a join to the one-row int_as_of_date does not, and DuckDB then built
    the hash table of a join on the wrong side (large tier, the order fact: the
    98M completed orders instead of the 21M listings; it spilled to disk and took 124 s against
    82 s). When int_as_of_date is not a built table (compiling or linting an empty warehouse, or a
    unit test, whose inputs are fixtures), the same value as a subquery. -#}
{% macro reporting_cutoff_at() -%}
    {{ return(reporting_value('cutoff_at', dbt.type_timestamp())) }}
{%- endmacro %}


{#- The reporting date (int_as_of_date.as_of_date) as a date literal, the same way: for a view
    that must read nothing but its own table (seller_features). -#}
{% macro reporting_date() -%}
    {{ return(reporting_value('as_of_date', 'date')) }}
{%- endmacro %}


{#- The column `column` of int_as_of_date as a literal of type `data_type`, else as a subquery. -#}
{% macro reporting_value(column, data_type) -%}
    {%- set as_of = ref('int_as_of_date') -%}
    {%- if execute and model.resource_type == 'model' and load_relation(as_of) is not none -%}
        {%- set value = run_query(
            'select cast(' ~ column ~ ' as ' ~ dbt.type_string() ~ ') from ' ~ as_of
        ).columns[0].values()[0] -%}
        {%- if value is not none -%}
            {{ return("cast('" ~ value ~ "' as " ~ data_type ~ ")") }}
        {%- endif -%}
    {%- endif -%}
    {{ return('(select ' ~ column ~ ' from ' ~ as_of ~ ')') }}
{%- endmacro %}
