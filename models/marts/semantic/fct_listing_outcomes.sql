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

maturity as (

    select * from {{ ref('int_metric_maturity') }}
    where metric_name = 'listing_violation_rate'

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
        {{ cohort_status_columns('listing_outcomes.created_date') }}

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
