{#- The rows of several CTEs (or relations) of the same columns, one under the other: `select
    <columns> from <cte> union all ...` for each name in `ctes`, the columns named in the order
    of `columns` (a list), so every branch lines up by name whatever its own column order. -#}
{% macro union_ctes(ctes, columns) -%}
    {%- for cte in ctes %}
        select
            {{ columns | join(',\n            ') }}
        from {{ cte }}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}
