{#- One row per listing created up to the reporting date, with whether it received a counted
    (not overturned) listing action within 7 days of creation, split by policy kind. Feeds
    listing_violation_rate and low_quality_listing_rate. -#}

with

listings as (

    select * from {{ ref('int_listing_segments') }}

),

actions as (

    select * from {{ ref('int_enforcement_actions_resolved') }}

),

as_of as (

    select * from {{ ref('int_as_of_date') }}

),

listings_in_scope as (

    select listings.*
    from listings
    cross join as_of
    where listings.created_at < as_of.cutoff_at

),

counted_listing_actions as (

    select
        target_id as listing_id,
        acted_at,
        policy_is_low_quality

    from actions
    where
        target_type = 'listing'
        and action_type in ('listing_takedown', 'listing_limit')
        and not is_overturned

),

actions_in_window as (

    select
        listings_in_scope.listing_id,
        max(case when not counted_listing_actions.policy_is_low_quality then 1 else 0 end)
            as has_violation_action,
        max(case when counted_listing_actions.policy_is_low_quality then 1 else 0 end)
            as has_low_quality_action

    from listings_in_scope
    inner join counted_listing_actions
        on
            listings_in_scope.listing_id = counted_listing_actions.listing_id
            and listings_in_scope.created_at <= counted_listing_actions.acted_at
            and counted_listing_actions.acted_at
            <= {{ dbt.dateadd('day', 7, 'listings_in_scope.created_at') }}
    group by listings_in_scope.listing_id

)

select
    listings_in_scope.listing_id,
    listings_in_scope.seller_id,
    listings_in_scope.region,
    listings_in_scope.category,
    listings_in_scope.created_at,
    cast(listings_in_scope.created_at as date) as created_date,
    coalesce(actions_in_window.has_violation_action, 0) = 1 as is_violation_within_7d,
    coalesce(actions_in_window.has_low_quality_action, 0) = 1 as is_low_quality_within_7d

from listings_in_scope
left join actions_in_window
    on listings_in_scope.listing_id = actions_in_window.listing_id
