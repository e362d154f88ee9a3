{#- One row per enforcement action taken by a strategy up to the reporting date, with its appeal
    outcome and, for overturned actions, the completed GMV the wrongly actioned seller made in the
    30 days before the action: the business at stake when a strategy hits a good seller, rounded
    to the cent (a sum of doubles differs in its last bits with the order rows arrive in). -#}

with

actions as (

    select * from {{ ref('int_enforcement_actions_resolved') }}

),

appeal_resolutions as (

    select * from {{ ref('int_appeal_resolutions') }}

),

listings as (

    select * from {{ ref('int_listing_segments') }}

),

orders as (

    select * from {{ ref('stg_marketplace__orders') }}

),

strategy_actions as (

    select
        actions.action_id,
        actions.strategy_id,
        actions.target_type,
        actions.target_id,
        actions.action_type,
        actions.policy_code,
        actions.acted_at,
        actions.is_appealed,
        actions.is_overturned,
        actions.overturned_at,
        {{ target_seller_id('actions') }} as seller_id

    from actions
    left join listings
        on
            actions.target_type = 'listing'
            and actions.target_id = listings.listing_id
    where actions.strategy_id is not null

),

resolved_appeals as (

    select
        action_id,
        count(*) as n_resolved_appeals

    from appeal_resolutions
    group by action_id

),

overturned_seller_gmv as (

    select
        strategy_actions.action_id,
        round(sum(orders.gmv_usd), 2) as gmv_usd

    from strategy_actions
    inner join orders
        on
            strategy_actions.seller_id = orders.seller_id
            and orders.order_status = 'completed'
            and {{ dbt.dateadd('day', -30, 'strategy_actions.acted_at') }} <= orders.ordered_at
            and strategy_actions.acted_at > orders.ordered_at
    where strategy_actions.is_overturned
    group by strategy_actions.action_id

)

select
    strategy_actions.action_id,
    strategy_actions.strategy_id,
    strategy_actions.target_type,
    strategy_actions.target_id,
    strategy_actions.action_type,
    strategy_actions.policy_code,
    strategy_actions.acted_at,
    cast(strategy_actions.acted_at as date) as acted_date,
    strategy_actions.seller_id,
    strategy_actions.is_appealed,
    strategy_actions.is_overturned,
    strategy_actions.overturned_at,
    coalesce(resolved_appeals.n_resolved_appeals, 0) > 0 as has_resolved_appeal,
    case
        when strategy_actions.is_overturned then coalesce(overturned_seller_gmv.gmv_usd, 0)
    end as overturned_seller_gmv_30d_usd

from strategy_actions
left join resolved_appeals
    on strategy_actions.action_id = resolved_appeals.action_id
left join overturned_seller_gmv
    on strategy_actions.action_id = overturned_seller_gmv.action_id
