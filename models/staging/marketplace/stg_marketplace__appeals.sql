with

source as (

    select * from {{ source('marketplace', 'appeals') }}

),

renamed as (

    select
        cast(appeal_id as {{ dbt.type_string() }}) as appeal_id,
        cast(action_id as {{ dbt.type_string() }}) as action_id,
        cast(filed_at as {{ dbt.type_timestamp() }}) as filed_at,
        cast(resolved_at as {{ dbt.type_timestamp() }}) as resolved_at,
        cast(outcome as {{ dbt.type_string() }}) as outcome

    from source

),

ranked as (

    select
        *,
        row_number() over (
            partition by appeal_id
            order by filed_at desc, resolved_at desc, outcome asc
        ) as version_rank

    from renamed

)

select
    appeal_id,
    action_id,
    filed_at,
    resolved_at,
    outcome,
    outcome = 'overturned' as is_overturned

from ranked
where version_rank = 1
