{#- Strategy scorecard by day: one row per strategy, day and trailing window (1, 7 or 28 days
    ending on the day, trailing_window_lengths()). Each event counts on its own date: hits and
    time-to-hit on the hit day, flagged QA verdicts on the day of the hit they audited, random QA
    verdicts on the check day, actions, appeals and overturns on the action day. Windows are
    built by letting every event count on each day of the windows it falls in
    (spread_over_trailing_windows()), so medians and distinct seller counts are exact; distinct
    targets come from int_strategy_window_targets. -#}

{#- The grain of every figure below: what the figures are grouped by and joined on. -#}
{%- set grain = 'strategy_id, metric_date, window_days' -%}

with

strategies as (

    select * from {{ ref('int_strategy_profiles') }}

),

hits as (

    select * from {{ ref('int_strategy_hits_enriched') }}

),

flagged_checks as (

    select * from {{ ref('int_strategy_flagged_checks') }}

),

recall_checks as (

    select * from {{ ref('int_strategy_recall_checks') }}

),

actions as (

    select * from {{ ref('int_strategy_actions_enriched') }}

),

grid as (

    select * from {{ ref('int_strategy_window_grid') }}

),

target_figures as (

    select * from {{ ref('int_strategy_window_targets') }}

),

window_offsets as (

    {{ trailing_window_offsets() }}

),

hit_windows as (

    {{ spread_over_trailing_windows('hits', 'hit_date', ['strategy_id', 'is_enforced', 'hours_to_hit']) }}

),

hit_figures as (

    select
        strategy_id,
        metric_date,
        window_days,
        count(*) as n_hits,
        sum(case when is_enforced then 1 else 0 end) as n_hits_enforced,
        percentile_cont(0.5) within group (order by hours_to_hit) as median_hours_to_hit

    from hit_windows
    group by {{ grain }}

),

flagged_windows as (

    {{ spread_over_trailing_windows('flagged_checks', 'performance_date', ['strategy_id', 'is_violation']) }}

),

flagged_figures as (

    select
        strategy_id,
        metric_date,
        window_days,
        count(*) as n_flagged_checks,
        sum(case when is_violation then 1 else 0 end) as n_flagged_confirmed

    from flagged_windows
    group by {{ grain }}

),

recall_windows as (

    {{ spread_over_trailing_windows('recall_checks', 'checked_date', ['strategy_id', 'is_hit_before_check']) }}

),

recall_figures as (

    select
        strategy_id,
        metric_date,
        window_days,
        count(*) as n_recall_checks,
        sum(case when is_hit_before_check then 1 else 0 end) as n_recall_checks_hit

    from recall_windows
    group by {{ grain }}

),

action_windows as (

    {{ spread_over_trailing_windows('actions', 'acted_date', [
        'strategy_id', 'seller_id', 'has_resolved_appeal', 'is_overturned', 'overturned_seller_gmv_30d_usd',
    ]) }}

),

action_figures as (

    select
        strategy_id,
        metric_date,
        window_days,
        count(*) as n_actions,
        sum(case when has_resolved_appeal then 1 else 0 end) as n_actions_appeal_resolved,
        sum(case when is_overturned then 1 else 0 end) as n_actions_overturned

    from action_windows
    group by {{ grain }}

),

overturned_sellers as (

    {#- A seller overturned twice in a window counts once, with the larger of its GMV figures. -#}
    select
        strategy_id,
        metric_date,
        window_days,
        seller_id,
        max(overturned_seller_gmv_30d_usd) as gmv_30d_usd

    from action_windows
    where is_overturned and seller_id is not null
    group by {{ grain }}, seller_id

),

overturned_seller_figures as (

    select
        strategy_id,
        metric_date,
        window_days,
        count(*) as n_overturned_sellers,
        sum(gmv_30d_usd) as overturned_sellers_gmv_30d_usd

    from overturned_sellers
    group by {{ grain }}

),

joined as (

    select
        grid.strategy_id,
        grid.metric_date,
        grid.window_days,
        hit_figures.median_hours_to_hit,
        {#- Rounded to the cent: a sum of floating-point amounts otherwise differs in its last
            digits from one build to the next with the order the engine adds them in. #}
        cast(coalesce(round(overturned_seller_figures.overturned_sellers_gmv_30d_usd, 2), 0) as double)
            as overturned_sellers_gmv_30d_usd,
        coalesce(hit_figures.n_hits, 0) as n_hits,
        coalesce(hit_figures.n_hits_enforced, 0) as n_hits_enforced,
        coalesce(target_figures.n_targets_hit, 0) as n_targets_hit,
        coalesce(flagged_figures.n_flagged_checks, 0) as n_flagged_checks,
        coalesce(flagged_figures.n_flagged_confirmed, 0) as n_flagged_confirmed,
        coalesce(recall_figures.n_recall_checks, 0) as n_recall_checks,
        coalesce(recall_figures.n_recall_checks_hit, 0) as n_recall_checks_hit,
        coalesce(action_figures.n_actions, 0) as n_actions,
        coalesce(action_figures.n_actions_appeal_resolved, 0) as n_actions_appeal_resolved,
        coalesce(action_figures.n_actions_overturned, 0) as n_actions_overturned,
        coalesce(overturned_seller_figures.n_overturned_sellers, 0) as n_overturned_sellers

    from grid
    left join hit_figures using ({{ grain }})
    left join target_figures using ({{ grain }})
    left join flagged_figures using ({{ grain }})
    left join recall_figures using ({{ grain }})
    left join action_figures using ({{ grain }})
    left join overturned_seller_figures using ({{ grain }})

),

typed_counts as (

    select
        strategy_id,
        metric_date,
        window_days,
        median_hours_to_hit,
        overturned_sellers_gmv_30d_usd,
        n_hits,
        n_hits_enforced,
        n_targets_hit,
        n_flagged_checks,
        n_flagged_confirmed,
        n_recall_checks,
        n_recall_checks_hit,
        n_actions,
        n_actions_appeal_resolved,
        n_actions_overturned,
        n_overturned_sellers,
        cast(n_hits as double) as hits_d,
        cast(n_hits_enforced as double) as hits_enforced_d,
        cast(n_flagged_checks as double) as flagged_d,
        cast(n_flagged_confirmed as double) as confirmed_d,
        cast(n_recall_checks as double) as recall_checks_d,
        cast(n_recall_checks_hit as double) as recall_hit_d,
        cast(n_actions_appeal_resolved as double) as appeal_resolved_d,
        cast(n_actions_overturned as double) as overturned_d

    from joined

),

final as (

    select
        joined.strategy_id,
        joined.metric_date,
        joined.window_days,
        cast({{ dbt.dateadd('day', '1 - joined.window_days', 'joined.metric_date') }} as date) as window_start_date,
        strategies.strategy_name,
        strategies.strategy_type,
        strategies.policy_code,
        strategies.target_type,
        strategies.is_shadow_mode,
        joined.n_hits,
        joined.n_hits_enforced,
        case when joined.n_hits > 0 then joined.hits_enforced_d / joined.hits_d end as enforcement_rate,
        joined.n_targets_hit,
        joined.n_flagged_checks,
        joined.n_flagged_confirmed,
        case
            when joined.n_flagged_checks > 0 then joined.confirmed_d / joined.flagged_d
        end as qa_precision,
        {{ wilson_bound('joined.confirmed_d', 'joined.flagged_d', 'lower') }} as qa_precision_ci_lower,
        {{ wilson_bound('joined.confirmed_d', 'joined.flagged_d', 'upper') }} as qa_precision_ci_upper,
        joined.n_recall_checks,
        joined.n_recall_checks_hit,
        case
            when joined.n_recall_checks > 0 then joined.recall_hit_d / joined.recall_checks_d
        end as estimated_recall,
        {{ wilson_bound('joined.recall_hit_d', 'joined.recall_checks_d', 'lower') }} as recall_ci_lower,
        {{ wilson_bound('joined.recall_hit_d', 'joined.recall_checks_d', 'upper') }} as recall_ci_upper,
        joined.n_actions,
        joined.n_actions_appeal_resolved,
        joined.n_actions_overturned,
        case
            when joined.n_actions_appeal_resolved > 0
                then joined.overturned_d / joined.appeal_resolved_d
        end as appeal_overturn_rate,
        joined.median_hours_to_hit,
        joined.n_overturned_sellers,
        joined.overturned_sellers_gmv_30d_usd

    from typed_counts as joined
    inner join strategies
        on joined.strategy_id = strategies.strategy_id

)

select
    strategy_id,
    metric_date,
    window_days,
    window_start_date,
    strategy_name,
    strategy_type,
    policy_code,
    target_type,
    is_shadow_mode,
    cast(n_hits as integer) as n_hits,
    cast(n_hits_enforced as integer) as n_hits_enforced,
    enforcement_rate,
    cast(n_targets_hit as integer) as n_targets_hit,
    cast(n_flagged_checks as integer) as n_flagged_checks,
    cast(n_flagged_confirmed as integer) as n_flagged_confirmed,
    qa_precision,
    qa_precision_ci_lower,
    qa_precision_ci_upper,
    cast(n_recall_checks as integer) as n_recall_checks,
    cast(n_recall_checks_hit as integer) as n_recall_checks_hit,
    estimated_recall,
    recall_ci_lower,
    recall_ci_upper,
    cast(n_actions as integer) as n_actions,
    cast(n_actions_appeal_resolved as integer) as n_actions_appeal_resolved,
    cast(n_actions_overturned as integer) as n_actions_overturned,
    appeal_overturn_rate,
    median_hours_to_hit,
    cast(n_overturned_sellers as integer) as n_overturned_sellers,
    overturned_sellers_gmv_30d_usd

from final
