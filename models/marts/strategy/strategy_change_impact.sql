{#- Before and after every strategy change: one row per change up to the reporting date, with
    the strategy's volume, QA precision, estimated recall and appeal overturns in the
    var('strategy_change_window_days') days before the change and the same span after it. A
    window stops at the strategy's neighbouring change and at the reporting date, so a rollback
    never counts as the "after" of the change it undoes; the actual bounds are published. -#}

{%- set window_days = validated_number_var('strategy_change_window_days', 1, 365) | int -%}

with

changes as (

    select * from {{ ref('stg_marketplace__strategy_changes') }}

),

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

as_of as (

    select * from {{ ref('int_as_of_date') }}

),

observed_period as (

    select min(hit_at) as first_hit_at
    from hits

),

sequenced_changes as (

    select
        changes.change_id,
        changes.strategy_id,
        changes.changed_at,
        changes.change_type,
        changes.change_description,
        as_of.cutoff_at,
        lag(changes.changed_at) over (
            partition by changes.strategy_id order by changes.changed_at, changes.change_id
        ) as previous_changed_at,
        lead(changes.changed_at) over (
            partition by changes.strategy_id order by changes.changed_at, changes.change_id
        ) as next_changed_at

    from changes
    cross join as_of
    where changes.changed_at < as_of.cutoff_at

),

change_windows as (

    select
        change_id,
        strategy_id,
        changed_at,
        change_type,
        change_description,
        case
            when
                previous_changed_at is not null
                and previous_changed_at > {{ dbt.dateadd('day', -window_days, 'changed_at') }}
                then previous_changed_at
            else {{ dbt.dateadd('day', -window_days, 'changed_at') }}
        end as before_start_at,
        least(
            {{ dbt.dateadd('day', window_days, 'changed_at') }},
            coalesce(next_changed_at, cutoff_at),
            cutoff_at
        ) as after_end_at

    from sequenced_changes

),

hit_figures as (

    select
        change_windows.change_id,
        sum(case when hits.hit_at < change_windows.changed_at then 1 else 0 end) as n_hits_before,
        sum(case when hits.hit_at >= change_windows.changed_at then 1 else 0 end) as n_hits_after,
        sum(case when hits.hit_at < change_windows.changed_at and hits.is_enforced then 1 else 0 end)
            as n_hits_enforced_before,
        sum(case when hits.hit_at >= change_windows.changed_at and hits.is_enforced then 1 else 0 end)
            as n_hits_enforced_after

    from change_windows
    inner join hits
        on
            change_windows.strategy_id = hits.strategy_id
            and change_windows.before_start_at <= hits.hit_at
            and change_windows.after_end_at > hits.hit_at
    group by change_windows.change_id

),

flagged as (

    select
        strategy_id,
        is_violation,
        coalesce(audited_hit_at, checked_at) as audited_at

    from flagged_checks

),

flagged_figures as (

    select
        change_windows.change_id,
        sum(case when flagged.audited_at < change_windows.changed_at then 1 else 0 end)
            as n_flagged_checks_before,
        sum(case when flagged.audited_at < change_windows.changed_at and flagged.is_violation then 1 else 0 end)
            as n_flagged_confirmed_before,
        sum(case when flagged.audited_at >= change_windows.changed_at then 1 else 0 end)
            as n_flagged_checks_after,
        sum(case when flagged.audited_at >= change_windows.changed_at and flagged.is_violation then 1 else 0 end)
            as n_flagged_confirmed_after

    from change_windows
    inner join flagged
        on
            change_windows.strategy_id = flagged.strategy_id
            and change_windows.before_start_at <= flagged.audited_at
            and change_windows.after_end_at > flagged.audited_at
    group by change_windows.change_id

),

recall_figures as (

    select
        change_windows.change_id,
        sum(case when recall_checks.checked_at < change_windows.changed_at then 1 else 0 end)
            as n_recall_checks_before,
        sum(
            case
                when recall_checks.checked_at < change_windows.changed_at and recall_checks.is_hit_before_check
                    then 1
                else 0
            end
        ) as n_recall_checks_hit_before,
        sum(case when recall_checks.checked_at >= change_windows.changed_at then 1 else 0 end)
            as n_recall_checks_after,
        sum(
            case
                when recall_checks.checked_at >= change_windows.changed_at and recall_checks.is_hit_before_check
                    then 1
                else 0
            end
        ) as n_recall_checks_hit_after

    from change_windows
    inner join recall_checks
        on
            change_windows.strategy_id = recall_checks.strategy_id
            and change_windows.before_start_at <= recall_checks.checked_at
            and change_windows.after_end_at > recall_checks.checked_at
    group by change_windows.change_id

),

action_figures as (

    select
        change_windows.change_id,
        sum(
            case
                when actions.acted_at < change_windows.changed_at and actions.has_resolved_appeal then 1
                else 0
            end
        ) as n_actions_appeal_resolved_before,
        sum(
            case
                when actions.acted_at < change_windows.changed_at and actions.is_overturned then 1
                else 0
            end
        ) as n_actions_overturned_before,
        sum(
            case
                when actions.acted_at >= change_windows.changed_at and actions.has_resolved_appeal then 1
                else 0
            end
        ) as n_actions_appeal_resolved_after,
        sum(
            case
                when actions.acted_at >= change_windows.changed_at and actions.is_overturned then 1
                else 0
            end
        ) as n_actions_overturned_after

    from change_windows
    inner join actions
        on
            change_windows.strategy_id = actions.strategy_id
            and change_windows.before_start_at <= actions.acted_at
            and change_windows.after_end_at > actions.acted_at
    group by change_windows.change_id

),

counts as (

    select
        change_windows.change_id,
        change_windows.strategy_id,
        change_windows.changed_at,
        change_windows.change_type,
        change_windows.change_description,
        change_windows.before_start_at,
        change_windows.after_end_at,
        coalesce(observed_period.first_hit_at <= change_windows.before_start_at, false) as is_observed,
        {{ dbt.datediff('change_windows.before_start_at', 'change_windows.changed_at', 'second') }} / cast(86400 as double) as before_days,  -- noqa: LT05
        {{ dbt.datediff('change_windows.changed_at', 'change_windows.after_end_at', 'second') }} / cast(86400 as double) as after_days,  -- noqa: LT05
        coalesce(hit_figures.n_hits_before, 0) as n_hits_before,
        coalesce(hit_figures.n_hits_after, 0) as n_hits_after,
        coalesce(hit_figures.n_hits_enforced_before, 0) as n_hits_enforced_before,
        coalesce(hit_figures.n_hits_enforced_after, 0) as n_hits_enforced_after,
        cast(coalesce(flagged_figures.n_flagged_checks_before, 0) as double) as n_flagged_checks_before,
        cast(coalesce(flagged_figures.n_flagged_confirmed_before, 0) as double) as n_flagged_confirmed_before,
        cast(coalesce(flagged_figures.n_flagged_checks_after, 0) as double) as n_flagged_checks_after,
        cast(coalesce(flagged_figures.n_flagged_confirmed_after, 0) as double) as n_flagged_confirmed_after,
        cast(coalesce(recall_figures.n_recall_checks_before, 0) as double) as n_recall_checks_before,
        cast(coalesce(recall_figures.n_recall_checks_hit_before, 0) as double) as n_recall_checks_hit_before,
        cast(coalesce(recall_figures.n_recall_checks_after, 0) as double) as n_recall_checks_after,
        cast(coalesce(recall_figures.n_recall_checks_hit_after, 0) as double) as n_recall_checks_hit_after,
        cast(coalesce(action_figures.n_actions_appeal_resolved_before, 0) as double)
            as n_actions_appeal_resolved_before,
        cast(coalesce(action_figures.n_actions_overturned_before, 0) as double) as n_actions_overturned_before,
        cast(coalesce(action_figures.n_actions_appeal_resolved_after, 0) as double)
            as n_actions_appeal_resolved_after,
        cast(coalesce(action_figures.n_actions_overturned_after, 0) as double) as n_actions_overturned_after

    from change_windows
    cross join observed_period
    left join hit_figures
        on change_windows.change_id = hit_figures.change_id
    left join flagged_figures
        on change_windows.change_id = flagged_figures.change_id
    left join recall_figures
        on change_windows.change_id = recall_figures.change_id
    left join action_figures
        on change_windows.change_id = action_figures.change_id

),

rates as (

    select
        counts.change_id,
        counts.strategy_id,
        counts.changed_at,
        counts.change_type,
        counts.change_description,
        counts.before_start_at,
        counts.after_end_at,
        counts.is_observed,
        counts.before_days,
        counts.after_days,
        counts.n_hits_before,
        counts.n_hits_after,
        counts.n_hits_enforced_before,
        counts.n_hits_enforced_after,
        counts.n_flagged_checks_before,
        counts.n_flagged_confirmed_before,
        counts.n_flagged_checks_after,
        counts.n_flagged_confirmed_after,
        counts.n_recall_checks_before,
        counts.n_recall_checks_hit_before,
        counts.n_recall_checks_after,
        counts.n_recall_checks_hit_after,
        counts.n_actions_appeal_resolved_before,
        counts.n_actions_overturned_before,
        counts.n_actions_appeal_resolved_after,
        counts.n_actions_overturned_after,
        case
            when
                counts.is_observed and counts.before_days > 0
                then cast(counts.n_hits_before as double) / counts.before_days
        end as hits_per_day_before,
        case
            when
                counts.is_observed and counts.after_days > 0
                then cast(counts.n_hits_after as double) / counts.after_days
        end as hits_per_day_after,
        case
            when
                counts.is_observed and counts.before_days > 0
                then cast(counts.n_hits_enforced_before as double) / counts.before_days
        end as enforced_hits_per_day_before,
        case
            when
                counts.is_observed and counts.after_days > 0
                then cast(counts.n_hits_enforced_after as double) / counts.after_days
        end as enforced_hits_per_day_after,
        case
            when counts.n_flagged_checks_before > 0
                then counts.n_flagged_confirmed_before / counts.n_flagged_checks_before
        end as qa_precision_before,
        case
            when counts.n_flagged_checks_after > 0
                then counts.n_flagged_confirmed_after / counts.n_flagged_checks_after
        end as qa_precision_after,
        {{ wilson_bound('counts.n_flagged_confirmed_before', 'counts.n_flagged_checks_before', 'lower') }}
            as qa_precision_before_ci_lower,
        {{ wilson_bound('counts.n_flagged_confirmed_before', 'counts.n_flagged_checks_before', 'upper') }}
            as qa_precision_before_ci_upper,
        {{ wilson_bound('counts.n_flagged_confirmed_after', 'counts.n_flagged_checks_after', 'lower') }}
            as qa_precision_after_ci_lower,
        {{ wilson_bound('counts.n_flagged_confirmed_after', 'counts.n_flagged_checks_after', 'upper') }}
            as qa_precision_after_ci_upper,
        case
            when counts.n_recall_checks_before > 0
                then counts.n_recall_checks_hit_before / counts.n_recall_checks_before
        end as estimated_recall_before,
        case
            when counts.n_recall_checks_after > 0
                then counts.n_recall_checks_hit_after / counts.n_recall_checks_after
        end as estimated_recall_after,
        case
            when counts.n_actions_appeal_resolved_before > 0
                then counts.n_actions_overturned_before / counts.n_actions_appeal_resolved_before
        end as appeal_overturn_rate_before,
        case
            when counts.n_actions_appeal_resolved_after > 0
                then counts.n_actions_overturned_after / counts.n_actions_appeal_resolved_after
        end as appeal_overturn_rate_after

    from counts

)

select
    rates.change_id,
    rates.strategy_id,
    strategies.strategy_name,
    strategies.policy_code,
    strategies.target_type,
    rates.change_type,
    rates.change_description,
    rates.changed_at,
    cast(rates.changed_at as date) as change_date,
    rates.before_start_at,
    rates.after_end_at,
    rates.before_days,
    rates.after_days,
    rates.is_observed,
    cast(rates.n_hits_before as integer) as n_hits_before,
    cast(rates.n_hits_after as integer) as n_hits_after,
    rates.hits_per_day_before,
    rates.hits_per_day_after,
    cast(rates.n_hits_enforced_before as integer) as n_hits_enforced_before,
    cast(rates.n_hits_enforced_after as integer) as n_hits_enforced_after,
    rates.enforced_hits_per_day_before,
    rates.enforced_hits_per_day_after,
    cast(rates.n_flagged_checks_before as integer) as n_flagged_checks_before,
    cast(rates.n_flagged_checks_after as integer) as n_flagged_checks_after,
    rates.qa_precision_before,
    rates.qa_precision_before_ci_lower,
    rates.qa_precision_before_ci_upper,
    rates.qa_precision_after,
    rates.qa_precision_after_ci_lower,
    rates.qa_precision_after_ci_upper,
    cast(rates.n_recall_checks_before as integer) as n_recall_checks_before,
    cast(rates.n_recall_checks_after as integer) as n_recall_checks_after,
    rates.estimated_recall_before,
    rates.estimated_recall_after,
    cast(rates.n_actions_appeal_resolved_before as integer) as n_actions_appeal_resolved_before,
    cast(rates.n_actions_appeal_resolved_after as integer) as n_actions_appeal_resolved_after,
    rates.appeal_overturn_rate_before,
    rates.appeal_overturn_rate_after,
    case
        when rates.hits_per_day_before > 0 then rates.hits_per_day_after / rates.hits_per_day_before - 1
    end as hit_volume_change,
    case
        when rates.enforced_hits_per_day_before > 0
            then rates.enforced_hits_per_day_after / rates.enforced_hits_per_day_before - 1
    end as enforcement_volume_change,
    rates.qa_precision_after - rates.qa_precision_before as qa_precision_change,
    rates.estimated_recall_after - rates.estimated_recall_before as estimated_recall_change

from rates
left join strategies
    on rates.strategy_id = strategies.strategy_id
