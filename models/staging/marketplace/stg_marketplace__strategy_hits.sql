{#- The staged strategy hits: the latest valid version of each record. Rows that break a data
    rule are in stg_marketplace__quarantine; older versions are superseded (see the base model). -#}

with

base as (

    select * from {{ ref('base_marketplace__strategy_hits') }}

)

select
    hit_id,
    strategy_id,
    target_type,
    target_id,
    hit_at,
    risk_score

from base
where disposition = 'staged'
