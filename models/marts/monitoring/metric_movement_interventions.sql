{#- Governance interventions that could explain a metric move: one row per metric, mature day
    and strategy change that could have influenced that day's value, with the change in the
    strategy's hit and enforcement volume around the change (from strategy_change_impact).

    A change can influence a day when it lands between var('attribution_change_lookback_days')
    days before the day (plus the dbt var a metric's registry entry names as its
    `cause_delay_var`: var('attribution_appeal_delay_days') for appeal_overturn_rate, whose
    appeals are decided weeks after the actions) and the end of the day's outcome window
    (metric_date + maturity_days: a listing created on Monday counts actions until the next
    Monday). Only strategies whose actions feed the metric's numerator are considered
    (int_strategy_metric_feeds, derived from the metrics' counting rules and the strategy's
    target type and policy): listing strategies by their policy's kind for the two listing
    rates, seller strategies of high or critical policies for the onboarding rate, every
    strategy for the overturn rate (through appeals), none for the complaint rate and true
    violation prevalence. -#}

{%- set lookback = validated_number_var('attribution_change_lookback_days', 0, 365) | int -%}
{#- Extra look-back per metric: the dbt var its registry entry names (`cause_delay_var`). -#}
{%- set delays = [] -%}
{%- for metric in metric_registry() if metric.cause_delay_var -%}
    {%- set days = validated_number_var(metric.cause_delay_var, 0, 365) | int -%}
    {%- do delays.append("when '" ~ metric.name ~ "' then " ~ days) -%}
{%- endfor -%}
{%- set extra_delay = ('case metric_days.metric_name ' ~ (delays | join(' ')) ~ ' else 0 end') if delays else '0' -%}

with

segment_counts as (

    select * from {{ ref('int_attribution_segment_counts') }}

),

metric_definitions as (

    select * from {{ ref('metric_definitions') }}

),

change_impact as (

    select * from {{ ref('strategy_change_impact') }}

),

feeds as (

    select * from {{ ref('int_strategy_metric_feeds') }}

),

metric_days as (

    select distinct
        metric_name,
        metric_date

    from segment_counts

),

metric_windows as (

    select
        metric_days.metric_name,
        metric_days.metric_date,
        cast(
            {{ dbt.dateadd(
                'day',
                "-(" ~ lookback ~ " + " ~ extra_delay ~ ")",
                'metric_days.metric_date'
            ) }} as date
        ) as window_start_date,
        cast(
            {{ dbt.dateadd('day', 'metric_definitions.maturity_days', 'metric_days.metric_date') }} as date
        ) as window_end_date

    from metric_days
    inner join metric_definitions
        on metric_days.metric_name = metric_definitions.metric_name

),

changes as (

    select
        change_impact.change_id,
        change_impact.strategy_id,
        change_impact.strategy_name,
        change_impact.policy_code,
        change_impact.target_type,
        change_impact.change_type,
        change_impact.change_description,
        change_impact.changed_at,
        change_impact.change_date,
        change_impact.hits_per_day_before,
        change_impact.hits_per_day_after,
        change_impact.hit_volume_change,
        change_impact.enforced_hits_per_day_before,
        change_impact.enforced_hits_per_day_after,
        change_impact.enforcement_volume_change,
        change_impact.qa_precision_before,
        change_impact.qa_precision_after

    from change_impact

),

candidates as (

    select
        changes.change_id,
        changes.strategy_id,
        changes.strategy_name,
        changes.policy_code,
        changes.target_type,
        changes.change_type,
        changes.change_description,
        changes.changed_at,
        changes.change_date,
        changes.hits_per_day_before,
        changes.hits_per_day_after,
        changes.hit_volume_change,
        changes.enforced_hits_per_day_before,
        changes.enforced_hits_per_day_after,
        changes.enforcement_volume_change,
        changes.qa_precision_before,
        changes.qa_precision_after,
        metric_windows.metric_name,
        metric_windows.metric_date

    from metric_windows
    inner join changes
        on
            metric_windows.window_start_date <= changes.change_date
            and metric_windows.window_end_date >= changes.change_date
    inner join feeds
        on
            changes.strategy_id = feeds.strategy_id
            and metric_windows.metric_name = feeds.metric_name

)

select
    metric_name,
    metric_date,
    change_id,
    strategy_id,
    strategy_name,
    policy_code,
    change_type,
    change_description,
    changed_at,
    change_date,
    cast({{ dbt.datediff('change_date', 'metric_date', 'day') }} as integer) as days_from_change,  -- noqa: LT05
    hits_per_day_before,
    hits_per_day_after,
    hit_volume_change,
    enforced_hits_per_day_before,
    enforced_hits_per_day_after,
    enforcement_volume_change,
    qa_precision_before,
    qa_precision_after

from candidates
