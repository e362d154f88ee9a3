{#- dbt.listagg on Spark with its order: dbt-spark's own spark__listagg ignores order_by_clause
    (collect_list keeps no order), so lists such as alerts.top_segments would come out in
    another order than on DuckDB. Here the values are collected with their sort keys as structs,
    sorted (structs compare field by field) and joined. Supports `order by col, col, ...`
    (ascending; a `desc` or an expression with a comma raises). The root project's spark__listagg
    takes precedence over dbt-spark's. -#}

{% macro spark__listagg(measure, delimiter_text, order_by_clause=none, limit_num=none) -%}
    {%- set keys = [] -%}
    {%- if order_by_clause -%}
        {%- set clause = order_by_clause | trim -%}
        {%- if not clause.lower().startswith('order by') or ' desc' in clause.lower() -%}
            {{ exceptions.raise_compiler_error(
                "listagg on Spark supports 'order by <column>, ...' (ascending), got: " ~ clause
            ) }}
        {%- endif -%}
        {%- for key in clause[8:].split(',') -%}
            {%- do keys.append(key | trim) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set fields = [] -%}
    {%- for key in keys -%}
        {%- do fields.append("'k" ~ loop.index ~ "', " ~ key) -%}
    {%- endfor -%}
    {%- do fields.append("'v', " ~ measure) -%}
    {%- set sorted -%}
        transform(array_sort(collect_list(named_struct({{ fields | join(', ') }}))), x -> x.v)
    {%- endset -%}
    {%- set collected = 'slice(' ~ sorted ~ ', 1, ' ~ limit_num ~ ')' if limit_num else sorted -%}
    array_join({{ collected }}, {{ delimiter_text }})
{%- endmacro %}
