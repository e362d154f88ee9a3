{#- The strategy scorecard as of the reporting date: one row per strategy and trailing window
    (7 and 28 days) ending on the strategy's last active day (the reporting date, or the
    retirement day of a retired strategy), with the strategy's life cycle next to its figures so
    live and shadow-mode strategies of the same policy can be compared side by side. -#}

with

strategies as (

    select * from {{ ref('int_strategy_profiles') }}

),

daily as (

    select * from {{ ref('strategy_performance_daily') }}

),

latest as (

    select
        daily.strategy_id,
        daily.metric_date,
        daily.window_days,
        daily.window_start_date,
        daily.strategy_name,
        daily.strategy_type,
        daily.policy_code,
        daily.target_type,
        daily.is_shadow_mode,
        daily.n_hits,
        daily.n_hits_enforced,
        daily.enforcement_rate,
        daily.n_targets_hit,
        daily.n_flagged_checks,
        daily.n_flagged_confirmed,
        daily.qa_precision,
        daily.qa_precision_ci_lower,
        daily.qa_precision_ci_upper,
        daily.n_recall_checks,
        daily.n_recall_checks_hit,
        daily.estimated_recall,
        daily.recall_ci_lower,
        daily.recall_ci_upper,
        daily.n_actions,
        daily.n_actions_appeal_resolved,
        daily.n_actions_overturned,
        daily.appeal_overturn_rate,
        daily.median_hours_to_hit,
        daily.n_overturned_sellers,
        daily.overturned_sellers_gmv_30d_usd,
        strategies.strategy_status,
        strategies.launched_at,
        strategies.retired_at,
        strategies.last_change_id,
        strategies.last_change_type,
        strategies.last_changed_at

    from daily
    inner join strategies
        on
            daily.strategy_id = strategies.strategy_id
            and daily.metric_date = strategies.active_to_date
    where daily.window_days in (7, 28)

)

select
    strategy_id,
    window_days,
    metric_date as figures_date,
    window_start_date,
    strategy_name,
    strategy_type,
    policy_code,
    target_type,
    strategy_status,
    is_shadow_mode,
    launched_at,
    retired_at,
    last_change_id,
    last_change_type,
    last_changed_at,
    n_hits,
    n_hits_enforced,
    enforcement_rate,
    n_targets_hit,
    n_flagged_checks,
    n_flagged_confirmed,
    qa_precision,
    qa_precision_ci_lower,
    qa_precision_ci_upper,
    n_recall_checks,
    n_recall_checks_hit,
    estimated_recall,
    recall_ci_lower,
    recall_ci_upper,
    n_actions,
    n_actions_appeal_resolved,
    n_actions_overturned,
    appeal_overturn_rate,
    median_hours_to_hit,
    n_overturned_sellers,
    overturned_sellers_gmv_30d_usd,
    n_hits / cast(window_days as double) as hits_per_day

from latest
