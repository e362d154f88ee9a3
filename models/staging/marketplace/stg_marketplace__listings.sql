{#- The staged listings: the latest valid version of each record. Rows that break a data
    rule are in stg_marketplace__quarantine; older versions are superseded (see the base model). -#}

with

base as (

    select * from {{ ref('base_marketplace__listings') }}

)

select
    listing_id,
    seller_id,
    created_at,
    category,
    title,
    price_usd,
    image_count,
    description_length

from base
where disposition = 'staged'
