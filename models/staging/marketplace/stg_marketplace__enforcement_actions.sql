with

source as (

    select * from {{ source('marketplace', 'enforcement_actions') }}

),

renamed as (

    select
        cast(action_id as {{ dbt.type_string() }}) as action_id,
        cast(target_type as {{ dbt.type_string() }}) as target_type,
        cast(target_id as {{ dbt.type_string() }}) as target_id,
        cast(action_type as {{ dbt.type_string() }}) as action_type,
        cast(policy_code as {{ dbt.type_string() }}) as policy_code,
        cast(strategy_id as {{ dbt.type_string() }}) as strategy_id,
        cast(acted_at as {{ dbt.type_timestamp() }}) as acted_at

    from source

),

ranked as (

    select
        *,
        row_number() over (
            partition by action_id
            order by acted_at desc, target_id asc, action_type asc, policy_code asc
        ) as version_rank

    from renamed

)

select
    action_id,
    target_type,
    target_id,
    action_type,
    policy_code,
    strategy_id,
    acted_at,
    strategy_id is null as is_manual

from ranked
where version_rank = 1
