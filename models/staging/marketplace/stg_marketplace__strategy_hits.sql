with

source as (

    select * from {{ source('marketplace', 'strategy_hits') }}

),

renamed as (

    select
        cast(hit_id as {{ dbt.type_string() }}) as hit_id,
        cast(strategy_id as {{ dbt.type_string() }}) as strategy_id,
        cast(target_type as {{ dbt.type_string() }}) as target_type,
        cast(target_id as {{ dbt.type_string() }}) as target_id,
        cast(hit_at as {{ dbt.type_timestamp() }}) as hit_at,
        cast(risk_score as double) as risk_score

    from source

),

ranked as (

    select
        *,
        row_number() over (
            partition by hit_id
            order by hit_at desc, strategy_id asc, target_id asc
        ) as version_rank

    from renamed

)

select
    hit_id,
    strategy_id,
    target_type,
    target_id,
    hit_at,
    risk_score

from ranked
where version_rank = 1
