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

maturity as (

    select * from {{ ref('int_metric_maturity') }}
    where metric_name = 'appeal_overturn_rate'

),

with_target_seller as (

    select
        appeal_resolutions.appeal_id,
        appeal_resolutions.action_id,
        appeal_resolutions.target_type,
        appeal_resolutions.target_id,
        appeal_resolutions.strategy_id,
        appeal_resolutions.region,
        appeal_resolutions.category,
        appeal_resolutions.resolved_at,
        appeal_resolutions.resolved_date,
        appeal_resolutions.is_overturned,
        {{ target_seller_id('appeal_resolutions') }} as target_seller_id

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
        {{ cohort_status_columns('with_target_seller.resolved_date') }}

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
