{#- The staged seller accounts: the latest valid version of each record. Rows that break a data
    rule are in stg_marketplace__quarantine; older versions are superseded (see the base model). -#}

with

base as (

    select * from {{ ref('base_marketplace__sellers') }}

)

select
    seller_id,
    registered_at,
    onboarded_at,
    region,
    seller_type,
    primary_category,
    legal_name_hash,
    email_hash,
    phone_hash,
    onboarded_at is not null as is_onboarded

from base
where disposition = 'staged'
