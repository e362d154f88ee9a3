{#- Every raw row accounted for, per raw table: rows read from the raw files (counted straight
    from the source by base_marketplace__raw_row_counts, independently of staging), rows staged,
    quarantined and superseded by a later version. `is_reconciled` is true when raw = staged +
    quarantined + superseded. -#}

with

dispositions as (

    select * from {{ ref('stg_marketplace__row_dispositions') }}

),

raw_counts as (

    select * from {{ ref('base_marketplace__raw_row_counts') }}

),

staged_counts as (

    {% for table_name in marketplace_raw_tables() %}
        select
            '{{ table_name }}' as table_name,
            count(*) as staged_row_count
        from {{ ref('stg_marketplace__' ~ table_name) }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

held_back_counts as (

    select
        table_name,
        sum(case when disposition = 'quarantined' then 1 else 0 end) as quarantined_row_count,
        sum(case when disposition = 'superseded' then 1 else 0 end) as superseded_row_count

    from dispositions
    group by table_name

),

joined as (

    select
        raw_counts.table_name,
        raw_counts.raw_row_count,
        staged_counts.staged_row_count,
        coalesce(held_back_counts.quarantined_row_count, 0) as quarantined_row_count,
        coalesce(held_back_counts.superseded_row_count, 0) as superseded_row_count

    from raw_counts
    inner join staged_counts
        on raw_counts.table_name = staged_counts.table_name
    left join held_back_counts
        on raw_counts.table_name = held_back_counts.table_name

)

select
    cast(table_name as {{ dbt.type_string() }}) as table_name,
    cast(raw_row_count as {{ dbt.type_bigint() }}) as raw_row_count,
    cast(staged_row_count as {{ dbt.type_bigint() }}) as staged_row_count,
    cast(quarantined_row_count as {{ dbt.type_bigint() }}) as quarantined_row_count,
    cast(superseded_row_count as {{ dbt.type_bigint() }}) as superseded_row_count,
    raw_row_count = staged_row_count + quarantined_row_count + superseded_row_count as is_reconciled

from joined
