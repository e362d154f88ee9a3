{#- Rows staging held back, per night of arrival, raw table, disposition and rule, with the
    number of rows of that table that arrived that night. The data-quality dashboard's table. -#}

with

dispositions as (

    select * from {{ ref('stg_marketplace__row_dispositions') }}

),

arrivals as (

    select
        table_name,
        arrived_night,
        count(*) as arrived_row_count

    from dispositions
    group by table_name, arrived_night

),

held_back as (

    select
        table_name,
        arrived_night,
        disposition,
        rule_name,
        rule_column,
        count(*) as row_count

    from dispositions
    where disposition <> 'staged'
    group by table_name, arrived_night, disposition, rule_name, rule_column

)

select
    cast(held_back.arrived_night as date) as arrived_night,
    cast(held_back.table_name as {{ dbt.type_string() }}) as table_name,
    cast(held_back.disposition as {{ dbt.type_string() }}) as disposition,
    cast(held_back.rule_name as {{ dbt.type_string() }}) as rule_name,
    cast(held_back.rule_column as {{ dbt.type_string() }}) as rule_column,
    cast(held_back.row_count as {{ dbt.type_bigint() }}) as row_count,
    cast(arrivals.arrived_row_count as {{ dbt.type_bigint() }}) as arrived_row_count,
    cast(held_back.row_count as double) / arrivals.arrived_row_count as share_of_arrived

from held_back
inner join arrivals
    on
        held_back.table_name = arrivals.table_name
        and held_back.arrived_night = arrivals.arrived_night
