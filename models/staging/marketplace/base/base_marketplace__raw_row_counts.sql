{#- Rows in each raw table's Parquet files, counted straight from the source when the build
    runs, independently of the base models' incremental loading and versioning: the raw side
    of data_quality_reconciliation. A table on every engine (the base folder's incremental
    loading does not apply: the count is taken whole every build). -#}

{{ config(materialized='table') }}

with

{% for table_name in marketplace_raw_tables() %}
    {{ table_name }} as (

        select
            '{{ table_name }}' as table_name,
            count(*) as raw_row_count

        from {{ source('marketplace', table_name) }}

    ),

{% endfor %}

unioned as (

    {% for table_name in marketplace_raw_tables() %}
        select
            table_name,
            raw_row_count
        from {{ table_name }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select
    cast(table_name as {{ dbt.type_string() }}) as table_name,
    cast(raw_row_count as {{ dbt.type_bigint() }}) as raw_row_count

from unioned
