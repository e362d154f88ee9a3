{#- Enforcement actions with their policy attributes and appeal status as of the reporting date.
    This is the single place that decides whether an action counts: an action counts unless an
    appeal against it was resolved as overturned. -#}

{#- Incremental on DuckDB (nightly runs): re-processes actions taken in the lookback window and
    actions whose appeals were filed or decided in it (macros/incremental/windows.sql). -#}
{{ config(**incremental_by_key('action_id')) }}

{%- if is_incremental() %}
    {%- set window_start = incremental_window_start('acted_at') %}
{%- endif %}

with

actions as (

    select * from {{ ref('stg_marketplace__enforcement_actions') }}

),

appeals as (

    select * from {{ ref('stg_marketplace__appeals') }}

),

policies as (

    select * from {{ ref('policies') }}

),

as_of as (

    select * from {{ ref('int_as_of_date') }}

),

appeal_status as (

    select
        appeals.action_id,
        count(*) as appeal_count,
        max(
            case
                when appeals.is_overturned and appeals.resolved_at < as_of.cutoff_at then 1
                else 0
            end
        ) as has_overturned_appeal,
        min(
            case
                when appeals.is_overturned and appeals.resolved_at < as_of.cutoff_at
                    then appeals.resolved_at
            end
        ) as overturned_at

    from appeals
    cross join as_of
    where appeals.filed_at < as_of.cutoff_at
    group by appeals.action_id

),

actions_in_scope as (

    select actions.*
    from actions
    cross join as_of
    where
        actions.acted_at < as_of.cutoff_at
    {% if is_incremental() -%}
        and (
            cast(actions.acted_at as date) >= {{ window_start }}
            or actions.action_id in (
                select recent_appeals.action_id
                from appeals as recent_appeals
                where
                    cast(recent_appeals.filed_at as date) >= {{ window_start }}
                    or cast(recent_appeals.resolved_at as date) >= {{ window_start }}
            )
        )
    {%- endif %}

)

select
    actions_in_scope.action_id,
    actions_in_scope.target_type,
    actions_in_scope.target_id,
    actions_in_scope.action_type,
    actions_in_scope.policy_code,
    policies.severity as policy_severity,
    policies.is_low_quality as policy_is_low_quality,
    actions_in_scope.strategy_id,
    actions_in_scope.is_manual,
    actions_in_scope.acted_at,
    appeal_status.overturned_at,
    coalesce(appeal_status.appeal_count, 0) > 0 as is_appealed,
    coalesce(appeal_status.has_overturned_appeal, 0) = 1 as is_overturned,
    {{ build_started_at() }} as processed_at

from actions_in_scope
left join policies
    on actions_in_scope.policy_code = policies.policy_code
left join appeal_status
    on actions_in_scope.action_id = appeal_status.action_id
