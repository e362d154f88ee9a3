with

source as (

    select * from {{ source('marketplace', 'qa_case_checks') }}

),

renamed as (

    select
        cast(check_id as {{ dbt.type_string() }}) as check_id,
        cast(target_type as {{ dbt.type_string() }}) as target_type,
        cast(target_id as {{ dbt.type_string() }}) as target_id,
        cast(sample_type as {{ dbt.type_string() }}) as sample_type,
        cast(strategy_id as {{ dbt.type_string() }}) as strategy_id,
        cast(checked_at as {{ dbt.type_timestamp() }}) as checked_at,
        cast(is_violation as {{ dbt.type_boolean() }}) as is_violation,
        cast(policy_code as {{ dbt.type_string() }}) as policy_code

    from source

),

ranked as (

    select
        *,
        row_number() over (
            partition by check_id
            order by checked_at desc, target_id asc, sample_type asc
        ) as version_rank

    from renamed

)

select
    check_id,
    target_type,
    target_id,
    sample_type,
    strategy_id,
    checked_at,
    is_violation,
    policy_code

from ranked
where version_rank = 1
