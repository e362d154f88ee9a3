{#- The staged enforcement actions: the latest valid version of each record. Rows that break a data
    rule are in stg_marketplace__quarantine; older versions are superseded (see the base model). -#}

with

base as (

    select * from {{ ref('base_marketplace__enforcement_actions') }}

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

from base
where disposition = 'staged'
