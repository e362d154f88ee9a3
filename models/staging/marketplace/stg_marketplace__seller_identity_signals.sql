{#- The staged identity-signal observations: the latest valid version of each record. Rows that break a data
    rule are in stg_marketplace__quarantine; older versions are superseded (see the base model). -#}

with

base as (

    select * from {{ ref('base_marketplace__seller_identity_signals') }}

)

select
    signal_observation_id,
    seller_id,
    signal_type,
    signal_value_hash,
    observed_at

from base
where disposition = 'staged'
