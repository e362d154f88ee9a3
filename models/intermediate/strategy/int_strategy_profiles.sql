{#- One row per detection strategy: its policy attributes, its life cycle up to the reporting
    date and its mode. A strategy is in shadow mode when it has hits but has never had an
    enforcement action attributed to it. Every strategy model reads its attributes from here. -#}

with

strategies as (

    select * from {{ ref('stg_marketplace__strategies') }}

),

policies as (

    select * from {{ ref('policies') }}

),

hits as (

    select * from {{ ref('stg_marketplace__strategy_hits') }}

),

actions as (

    select * from {{ ref('int_enforcement_actions_resolved') }}

),

changes as (

    select * from {{ ref('stg_marketplace__strategy_changes') }}

),

as_of as (

    select * from {{ ref('int_as_of_date') }}

),

hit_summary as (

    select
        hits.strategy_id,
        count(*) as n_hits,
        min(hits.hit_at) as first_hit_at,
        max(hits.hit_at) as last_hit_at

    from hits
    cross join as_of
    where hits.hit_at < as_of.cutoff_at
    group by hits.strategy_id

),

action_summary as (

    select
        strategy_id,
        count(*) as n_actions

    from actions
    where strategy_id is not null
    group by strategy_id

),

ranked_changes as (

    select
        changes.strategy_id,
        changes.change_id,
        changes.change_type,
        changes.changed_at,
        row_number() over (
            partition by changes.strategy_id
            order by changes.changed_at desc, changes.change_id desc
        ) as recency_rank

    from changes
    cross join as_of
    where changes.changed_at < as_of.cutoff_at

),

last_changes as (

    select
        strategy_id,
        change_id,
        change_type,
        changed_at

    from ranked_changes
    where recency_rank = 1

),

profiles as (

    select
        strategies.strategy_id,
        strategies.strategy_name,
        strategies.strategy_type,
        strategies.policy_code,
        strategies.target_type,
        policies.severity as policy_severity,
        policies.is_low_quality as policy_is_low_quality,
        strategies.launched_at,
        hit_summary.first_hit_at,
        hit_summary.last_hit_at,
        last_changes.change_id as last_change_id,
        last_changes.change_type as last_change_type,
        last_changes.changed_at as last_changed_at,
        as_of.as_of_date,
        as_of.cutoff_at,
        case when strategies.retired_at < as_of.cutoff_at then strategies.retired_at end as retired_at,
        coalesce(hit_summary.n_hits, 0) as n_hits,
        coalesce(action_summary.n_actions, 0) as n_actions

    from strategies
    cross join as_of
    left join policies
        on strategies.policy_code = policies.policy_code
    left join hit_summary
        on strategies.strategy_id = hit_summary.strategy_id
    left join action_summary
        on strategies.strategy_id = action_summary.strategy_id
    left join last_changes
        on strategies.strategy_id = last_changes.strategy_id

)

select
    strategy_id,
    strategy_name,
    strategy_type,
    policy_code,
    target_type,
    policy_severity,
    policy_is_low_quality,
    launched_at,
    retired_at,
    first_hit_at,
    last_hit_at,
    n_hits,
    n_actions,
    cast(coalesce(launched_at, first_hit_at) as date) as active_from_date,
    last_change_id,
    last_change_type,
    last_changed_at,
    n_hits > 0 and n_actions = 0 as is_shadow_mode,
    case
        when retired_at is not null then 'retired'
        when coalesce(launched_at, first_hit_at) is null or launched_at >= cutoff_at then 'not_launched'
        when n_hits > 0 and n_actions = 0 then 'shadow'
        when n_actions > 0 then 'live'
        else 'idle'
    end as strategy_status,
    coalesce(cast(retired_at as date), as_of_date) as active_to_date

from profiles
