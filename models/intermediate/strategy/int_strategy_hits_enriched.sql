{#- One row per strategy hit up to the reporting date, with the hit target's seller and segment,
    the time from the listing's creation (or the seller's onboarding) to the hit, and whether the
    hit was enforced: an action by the same strategy on the same target within
    var('strategy_enforcement_window_days') days after the hit. -#}

{%- set window_days = validated_number_var('strategy_enforcement_window_days', 0, 365) | int -%}

with

hits as (

    select * from {{ ref('stg_marketplace__strategy_hits') }}

),

listings as (

    select * from {{ ref('int_listing_segments') }}

),

sellers as (

    select * from {{ ref('stg_marketplace__sellers') }}

),

actions as (

    select * from {{ ref('int_enforcement_actions_resolved') }}

),

as_of as (

    select * from {{ ref('int_as_of_date') }}

),

hits_in_scope as (

    select hits.*
    from hits
    cross join as_of
    where hits.hit_at < as_of.cutoff_at

),

strategy_actions as (

    select
        strategy_id,
        target_type,
        target_id,
        acted_at

    from actions
    where strategy_id is not null

),

enforcement as (

    select
        hits_in_scope.hit_id,
        min(strategy_actions.acted_at) as enforced_at

    from hits_in_scope
    inner join strategy_actions
        on
            hits_in_scope.strategy_id = strategy_actions.strategy_id
            and hits_in_scope.target_type = strategy_actions.target_type
            and hits_in_scope.target_id = strategy_actions.target_id
            and hits_in_scope.hit_at <= strategy_actions.acted_at
            and strategy_actions.acted_at <= {{ dbt.dateadd('day', window_days, 'hits_in_scope.hit_at') }}
    group by hits_in_scope.hit_id

),

subjects as (

    select
        hits_in_scope.hit_id,
        {{ target_seller_id('hits_in_scope') }} as seller_id,
        case
            when hits_in_scope.target_type = 'listing' then listings.region
            else sellers.region
        end as region,
        case
            when hits_in_scope.target_type = 'listing' then listings.category
            else sellers.primary_category
        end as category,
        case
            when hits_in_scope.target_type = 'listing' then listings.created_at
            else coalesce(sellers.onboarded_at, sellers.registered_at)
        end as subject_started_at

    from hits_in_scope
    left join listings
        on
            hits_in_scope.target_type = 'listing'
            and hits_in_scope.target_id = listings.listing_id
    left join sellers
        on
            hits_in_scope.target_type = 'seller'
            and hits_in_scope.target_id = sellers.seller_id

)

select
    hits_in_scope.hit_id,
    hits_in_scope.strategy_id,
    hits_in_scope.target_type,
    hits_in_scope.target_id,
    hits_in_scope.hit_at,
    cast(hits_in_scope.hit_at as date) as hit_date,
    hits_in_scope.risk_score,
    subjects.seller_id,
    subjects.region,
    subjects.category,
    subjects.subject_started_at,
    {{ dbt.datediff('subjects.subject_started_at', 'hits_in_scope.hit_at', 'second') }} / 3600.0 as hours_to_hit,  -- noqa: LT05
    enforcement.enforced_at,
    enforcement.enforced_at is not null as is_enforced

from hits_in_scope
inner join subjects
    on hits_in_scope.hit_id = subjects.hit_id
left join enforcement
    on hits_in_scope.hit_id = enforcement.hit_id
