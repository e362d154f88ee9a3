{#- Strategy scorecard by day: one row per strategy, day and trailing window (1, 7 or 28 days
    ending on the day). Each event counts on its own date: hits and time-to-hit on the hit day,
    flagged QA verdicts on the day of the hit they audited, random QA verdicts on the check day,
    actions, appeals and overturns on the action day. Windows are built by letting every event
    count on each day of the windows it falls in, so medians and distinct seller counts are
    exact. Distinct targets are counted from the days each target was hit: a hit day counts the
    target on the days of the windows it falls in that an earlier hit day of the same target
    does not already cover, so each target counts once per window without expanding every hit
    into every window day. -#}

{%- set windows = [1, 7, 28] -%}

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

calendar as (

    select * from {{ ref('int_calendar_days') }}

),

data_start as (

    select min(hit_date) as first_hit_date
    from hits

),

windows as (

    {% for window in windows %}
        select {{ window }} as window_days
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

day_numbers as (

    {{ dbt.generate_series(windows | max) }}

),

window_offsets as (

    select
        windows.window_days,
        day_numbers.generated_number - 1 as day_offset

    from windows
    inner join day_numbers
        on windows.window_days >= day_numbers.generated_number

),

grid as (

    select
        strategies.strategy_id,
        calendar.calendar_date as metric_date,
        windows.window_days

    from strategies
    cross join data_start
    inner join calendar
        on
            strategies.active_from_date <= calendar.calendar_date
            and strategies.active_to_date >= calendar.calendar_date
            and data_start.first_hit_date <= calendar.calendar_date
    cross join windows

),

hit_windows as (

    select
        hits.strategy_id,
        window_offsets.window_days,
        hits.is_enforced,
        hits.hours_to_hit,
        cast({{ dbt.dateadd('day', 'window_offsets.day_offset', 'hits.hit_date') }} as date) as metric_date

    from hits
    cross join window_offsets

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
    group by strategy_id, metric_date, window_days

),

target_hit_days as (

    select distinct
        strategy_id,
        target_id,
        hit_date

    from hits
    where target_id is not null

),

target_previous_hit_days as (

    select
        strategy_id,
        target_id,
        hit_date,
        lag(hit_date) over (partition by strategy_id, target_id order by hit_date) as previous_hit_date

    from target_hit_days

),

target_coverage as (

    {#- A hit day counts its target in the windows ending on hit_date .. hit_date + window - 1;
        the days up to previous_hit_date + window - 1 are already counted by the previous hit
        day. Both ends as dates; the span ends the day before coverage_end_date. #}
    select
        target_previous_hit_days.strategy_id,
        windows.window_days,
        greatest(
            target_previous_hit_days.hit_date,
            coalesce(
                cast({{ dbt.dateadd(
                    'day', 'windows.window_days', 'target_previous_hit_days.previous_hit_date'
                ) }} as date),
                target_previous_hit_days.hit_date
            )
        ) as coverage_start_date,
        cast({{ dbt.dateadd('day', 'windows.window_days', 'target_previous_hit_days.hit_date') }} as date)
            as coverage_end_date

    from target_previous_hit_days
    cross join windows

),

target_count_changes as (

    select
        strategy_id,
        window_days,
        coverage_start_date as metric_date,
        1 as change_in_targets

    from target_coverage

    union all

    select
        strategy_id,
        window_days,
        coverage_end_date as metric_date,
        -1 as change_in_targets

    from target_coverage

    union all

    {#- Every grid day, so that the running count below has a row for each. #}
    select
        strategy_id,
        window_days,
        metric_date,
        0 as change_in_targets

    from grid

),

target_count_days as (

    select
        strategy_id,
        window_days,
        metric_date,
        sum(change_in_targets) as change_in_targets

    from target_count_changes
    group by strategy_id, window_days, metric_date

),

target_figures as (

    select
        strategy_id,
        metric_date,
        window_days,
        sum(change_in_targets) over (
            partition by strategy_id, window_days
            order by metric_date
            rows between unbounded preceding and current row
        ) as n_targets_hit

    from target_count_days

),

flagged_windows as (

    select
        flagged_checks.strategy_id,
        window_offsets.window_days,
        flagged_checks.is_violation,
        cast(
            {{ dbt.dateadd('day', 'window_offsets.day_offset', 'flagged_checks.performance_date') }} as date
        ) as metric_date

    from flagged_checks
    cross join window_offsets

),

flagged_figures as (

    select
        strategy_id,
        metric_date,
        window_days,
        count(*) as n_flagged_checks,
        sum(case when is_violation then 1 else 0 end) as n_flagged_confirmed

    from flagged_windows
    group by strategy_id, metric_date, window_days

),

recall_windows as (

    select
        recall_checks.strategy_id,
        window_offsets.window_days,
        recall_checks.is_hit_before_check,
        cast({{ dbt.dateadd('day', 'window_offsets.day_offset', 'recall_checks.checked_date') }} as date)
            as metric_date

    from recall_checks
    cross join window_offsets

),

recall_figures as (

    select
        strategy_id,
        metric_date,
        window_days,
        count(*) as n_recall_checks,
        sum(case when is_hit_before_check then 1 else 0 end) as n_recall_checks_hit

    from recall_windows
    group by strategy_id, metric_date, window_days

),

action_windows as (

    select
        actions.strategy_id,
        window_offsets.window_days,
        actions.seller_id,
        actions.has_resolved_appeal,
        actions.is_overturned,
        actions.overturned_seller_gmv_30d_usd,
        cast({{ dbt.dateadd('day', 'window_offsets.day_offset', 'actions.acted_date') }} as date) as metric_date

    from actions
    cross join window_offsets

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
    group by strategy_id, metric_date, window_days

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
    group by strategy_id, metric_date, window_days, seller_id

),

overturned_seller_figures as (

    select
        strategy_id,
        metric_date,
        window_days,
        count(*) as n_overturned_sellers,
        sum(gmv_30d_usd) as overturned_sellers_gmv_30d_usd

    from overturned_sellers
    group by strategy_id, metric_date, window_days

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
    left join hit_figures
        on
            grid.strategy_id = hit_figures.strategy_id
            and grid.metric_date = hit_figures.metric_date
            and grid.window_days = hit_figures.window_days
    left join target_figures
        on
            grid.strategy_id = target_figures.strategy_id
            and grid.metric_date = target_figures.metric_date
            and grid.window_days = target_figures.window_days
    left join flagged_figures
        on
            grid.strategy_id = flagged_figures.strategy_id
            and grid.metric_date = flagged_figures.metric_date
            and grid.window_days = flagged_figures.window_days
    left join recall_figures
        on
            grid.strategy_id = recall_figures.strategy_id
            and grid.metric_date = recall_figures.metric_date
            and grid.window_days = recall_figures.window_days
    left join action_figures
        on
            grid.strategy_id = action_figures.strategy_id
            and grid.metric_date = action_figures.metric_date
            and grid.window_days = action_figures.window_days
    left join overturned_seller_figures
        on
            grid.strategy_id = overturned_seller_figures.strategy_id
            and grid.metric_date = overturned_seller_figures.metric_date
            and grid.window_days = overturned_seller_figures.window_days

),

typed_counts as (

    select
        *,
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
