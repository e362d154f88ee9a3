{#- `random` QA case checks of listings completed up to the reporting date, with the listing's
    segment. Feeds violation_prevalence: random samples estimate the true violation rate,
    detected or not. -#}

with

checks as (

    select * from {{ ref('stg_marketplace__qa_case_checks') }}

),

listings as (

    select * from {{ ref('int_listing_segments') }}

),

as_of as (

    select * from {{ ref('int_as_of_date') }}

),

random_listing_checks as (

    select checks.*
    from checks
    cross join as_of
    where
        checks.sample_type = 'random'
        and checks.target_type = 'listing'
        and checks.checked_at < as_of.cutoff_at

)

select
    random_listing_checks.check_id,
    random_listing_checks.target_id as listing_id,
    listings.region,
    listings.category,
    random_listing_checks.checked_at,
    cast(random_listing_checks.checked_at as date) as checked_date,
    random_listing_checks.is_violation

from random_listing_checks
left join listings
    on random_listing_checks.target_id = listings.listing_id
