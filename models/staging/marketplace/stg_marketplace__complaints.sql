{#- The staged complaints: the latest valid version of each record. Rows that break a data
    rule are in stg_marketplace__quarantine; older versions are superseded (see the base model). -#}

with

base as (

    select * from {{ ref('base_marketplace__complaints') }}

)

select
    complaint_id,
    order_id,
    listing_id,
    seller_id,
    created_at,
    reason

from base
where disposition = 'staged'
