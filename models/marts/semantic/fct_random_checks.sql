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

metric_definitions as (

    select * from {{ ref('metric_definitions') }}

),

as_of as (

    select * from {{ ref('int_as_of_date') }}

),

source_coverage as (

    select * from {{ ref('int_source_coverage') }}

),

maturity as (

    select
        metric_definitions.maturity_days,
        as_of.as_of_date,
        source_coverage.coverage_start_date

    from metric_definitions
    left join source_coverage
        on metric_definitions.outcome_source = source_coverage.source_name
    cross join as_of
    where metric_definitions.metric_name = 'violation_prevalence'

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
        {{ dbt.dateadd('day', 'maturity.maturity_days', 'random_checks.checked_date') }}
        <= maturity.as_of_date as is_mature,
        coalesce(random_checks.checked_date >= maturity.coverage_start_date, false) as is_complete

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
