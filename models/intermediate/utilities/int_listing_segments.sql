{#- Every listing with its segment: the seller's region and the listing's category. -#}

with

listings as (

    select * from {{ ref('stg_marketplace__listings') }}

),

sellers as (

    select * from {{ ref('stg_marketplace__sellers') }}

)

select
    listings.listing_id,
    listings.seller_id,
    listings.created_at,
    sellers.region,
    listings.category

from listings
left join sellers
    on listings.seller_id = sellers.seller_id
