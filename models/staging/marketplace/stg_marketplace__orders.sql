{#- The staged orders: the latest valid version of each record. Rows that break a data
    rule are in stg_marketplace__quarantine; older versions are superseded (see the base model). -#}

with

base as (

    select * from {{ ref('base_marketplace__orders') }}

)

select
    order_id,
    listing_id,
    seller_id,
    buyer_id,
    ordered_at,
    gmv_usd,
    order_status

from base
where disposition = 'staged'
