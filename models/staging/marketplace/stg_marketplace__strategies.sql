{#- The staged strategys: the latest valid version of each record. Rows that break a data
    rule are in stg_marketplace__quarantine; older versions are superseded (see the base model). -#}

with

base as (

    select * from {{ ref('base_marketplace__strategies') }}

)

select
    strategy_id,
    strategy_name,
    strategy_type,
    policy_code,
    target_type,
    launched_at,
    retired_at

from base
where disposition = 'staged'
