with

source as (

    select * from {{ source('marketplace', 'strategies') }}

),

renamed as (

    select
        cast(strategy_id as {{ dbt.type_string() }}) as strategy_id,
        cast(strategy_name as {{ dbt.type_string() }}) as strategy_name,
        cast(strategy_type as {{ dbt.type_string() }}) as strategy_type,
        cast(policy_code as {{ dbt.type_string() }}) as policy_code,
        cast(target_type as {{ dbt.type_string() }}) as target_type,
        cast(launched_at as {{ dbt.type_timestamp() }}) as launched_at,
        cast(retired_at as {{ dbt.type_timestamp() }}) as retired_at

    from source

),

ranked as (

    select
        *,
        row_number() over (
            partition by strategy_id
            order by launched_at desc, retired_at desc, strategy_name asc
        ) as version_rank

    from renamed

)

select
    strategy_id,
    strategy_name,
    strategy_type,
    policy_code,
    target_type,
    launched_at,
    retired_at

from ranked
where version_rank = 1
