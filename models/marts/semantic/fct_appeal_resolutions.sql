{#- Public record-grain fact behind appeal_overturn_rate: one row per appeal resolved up to the
    reporting date, with the segment of the appealed action's target, the seller behind the
    target (the listing's seller, or the seller itself) and that seller's type. The definition
    lives in int_appeal_resolutions; this model only adds dimensions. -#}

with

appeal_resolutions as (

    select * from {{ ref('int_appeal_resolutions') }}

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
    where metric_definitions.metric_name = 'appeal_overturn_rate'

),

with_target_seller as (

    select
        appeal_resolutions.*,
        case
            when appeal_resolutions.target_type = 'seller' then appeal_resolutions.target_id
            else listings.seller_id
        end as target_seller_id

    from appeal_resolutions
    left join listings
        on
            appeal_resolutions.target_type = 'listing'
            and appeal_resolutions.target_id = listings.listing_id

),

final as (

    select
        with_target_seller.appeal_id,
        with_target_seller.action_id,
        with_target_seller.target_type,
        with_target_seller.target_id,
        with_target_seller.target_seller_id as seller_id,
        with_target_seller.strategy_id,
        with_target_seller.region,
        with_target_seller.category,
        sellers.seller_type,
        with_target_seller.resolved_at,
        with_target_seller.resolved_date,
        with_target_seller.is_overturned,
        {{ dbt.dateadd('day', 'maturity.maturity_days', 'with_target_seller.resolved_date') }}
        <= maturity.as_of_date as is_mature,
        coalesce(with_target_seller.resolved_date >= maturity.coverage_start_date, false) as is_complete

    from with_target_seller
    cross join maturity
    left join sellers
        on with_target_seller.target_seller_id = sellers.seller_id

)

select
    appeal_id,
    action_id,
    target_type,
    target_id,
    seller_id,
    strategy_id,
    region,
    category,
    seller_type,
    resolved_at,
    resolved_date,
    is_overturned,
    is_mature,
    is_complete

from final
