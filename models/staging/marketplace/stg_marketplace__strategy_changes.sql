with

source as (

    select * from {{ source('marketplace', 'strategy_changes') }}

),

renamed as (

    select
        cast(change_id as {{ dbt.type_string() }}) as change_id,
        cast(strategy_id as {{ dbt.type_string() }}) as strategy_id,
        cast(changed_at as {{ dbt.type_timestamp() }}) as changed_at,
        cast(change_type as {{ dbt.type_string() }}) as change_type,
        cast(description as {{ dbt.type_string() }}) as change_description

    from source

),

ranked as (

    select
        *,
        row_number() over (
            partition by change_id
            order by changed_at desc, strategy_id asc, change_type asc
        ) as version_rank

    from renamed

)

select
    change_id,
    strategy_id,
    changed_at,
    change_type,
    change_description

from ranked
where version_rank = 1
