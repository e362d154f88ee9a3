{#- Appeals resolved up to the reporting date, with the segment of the appealed action's target:
    the listing's segment for listing actions, the seller's for seller actions. Feeds
    appeal_overturn_rate. -#}

with

appeals as (

    select * from {{ ref('stg_marketplace__appeals') }}

),

actions as (

    select * from {{ ref('stg_marketplace__enforcement_actions') }}

),

listings as (

    select * from {{ ref('int_listing_segments') }}

),

sellers as (

    select * from {{ ref('stg_marketplace__sellers') }}

),

as_of as (

    select * from {{ ref('int_as_of_date') }}

),

resolved_appeals as (

    select appeals.*
    from appeals
    cross join as_of
    where
        appeals.resolved_at is not null
        and appeals.resolved_at < as_of.cutoff_at

)

select
    resolved_appeals.appeal_id,
    resolved_appeals.action_id,
    actions.target_type,
    actions.target_id,
    actions.strategy_id,
    resolved_appeals.resolved_at,
    cast(resolved_appeals.resolved_at as date) as resolved_date,
    resolved_appeals.is_overturned,
    case
        when actions.target_type = 'listing' then listings.region
        else sellers.region
    end as region,
    case
        when actions.target_type = 'listing' then listings.category
        else sellers.primary_category
    end as category

from resolved_appeals
left join actions
    on resolved_appeals.action_id = actions.action_id
left join listings
    on
        actions.target_type = 'listing'
        and actions.target_id = listings.listing_id
left join sellers
    on
        actions.target_type = 'seller'
        and actions.target_id = sellers.seller_id
