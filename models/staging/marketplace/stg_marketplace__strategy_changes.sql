{#- The staged strategy changes: the latest valid version of each record. Rows that break a data
    rule are in stg_marketplace__quarantine; older versions are superseded (see the base model). -#}

with

base as (

    select * from {{ ref('base_marketplace__strategy_changes') }}

)

select
    change_id,
    strategy_id,
    changed_at,
    change_type,
    change_description

from base
where disposition = 'staged'
