{#- The staged appeals: the latest valid version of each record. Rows that break a data
    rule are in stg_marketplace__quarantine; older versions are superseded (see the base model). -#}

with

base as (

    select * from {{ ref('base_marketplace__appeals') }}

)

select
    appeal_id,
    action_id,
    filed_at,
    resolved_at,
    outcome,
    outcome = 'overturned' as is_overturned

from base
where disposition = 'staged'
