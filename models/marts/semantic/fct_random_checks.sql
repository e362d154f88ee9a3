{#- Public record-grain fact behind violation_prevalence: one row per `random` QA case check of
    a listing completed up to the reporting date, with the listing's segment and its seller's
    type. The sample definition lives in int_random_listing_checks; this model only adds
    dimensions. -#}

with

random_checks as (

    select * from {{ ref('int_random_listing_checks') }}

),

listings as (

    select * from {{ ref('int_listing_segments') }}

),

sellers as (

    select * from {{ ref('stg_marketplace__sellers') }}

),

maturity as (

    select * from {{ ref('int_metric_maturity') }}
    where metric_name = 'violation_prevalence'

),

final as (

    select
        random_checks.check_id,
        random_checks.listing_id,
        listings.seller_id,
        random_checks.region,
        random_checks.category,
        sellers.seller_type,
        random_checks.checked_at,
        random_checks.checked_date,
        random_checks.is_violation,
        {{ cohort_status_columns('random_checks.checked_date') }}

    from random_checks
    cross join maturity
    left join listings
        on random_checks.listing_id = listings.listing_id
    left join sellers
        on listings.seller_id = sellers.seller_id

)

select
    check_id,
    listing_id,
    seller_id,
    region,
    category,
    seller_type,
    checked_at,
    checked_date,
    is_violation,
    is_mature,
    is_complete

from final
