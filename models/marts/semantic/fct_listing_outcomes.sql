{#- Public record-grain fact behind listing_violation_rate and low_quality_listing_rate: one row
    per listing created up to the reporting date, with its segment, its seller's type, its
    7-day enforcement outcomes and whether its cohort day has matured. The outcome definitions
    live in int_listing_enforcement_outcomes; this model only adds dimensions. -#}

with

listing_outcomes as (

    select * from {{ ref('int_listing_enforcement_outcomes') }}

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
    where metric_definitions.metric_name = 'listing_violation_rate'

),

final as (

    select
        listing_outcomes.listing_id,
        listing_outcomes.seller_id,
        listing_outcomes.region,
        listing_outcomes.category,
        sellers.seller_type,
        listing_outcomes.created_at,
        listing_outcomes.created_date,
        listing_outcomes.is_violation_within_7d,
        listing_outcomes.is_low_quality_within_7d,
        {{ dbt.dateadd('day', 'maturity.maturity_days', 'listing_outcomes.created_date') }}
        <= maturity.as_of_date as is_mature,
        coalesce(listing_outcomes.created_date >= maturity.coverage_start_date, false) as is_complete

    from listing_outcomes
    cross join maturity
    left join sellers
        on listing_outcomes.seller_id = sellers.seller_id

)

select
    listing_id,
    seller_id,
    region,
    category,
    seller_type,
    created_at,
    created_date,
    is_violation_within_7d,
    is_low_quality_within_7d,
    is_mature,
    is_complete

from final
