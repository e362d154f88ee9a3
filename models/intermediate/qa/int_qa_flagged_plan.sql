{#- Flagged sample sizes of the day's QA queue: one row per strategy with hits on the queue day,
    with how many distinct targets it hit and how many of them to audit. Every strategy gets
    var('qa_flagged_per_strategy') items; strategies whose precision is least known get
    var('qa_flagged_boost') times more: shadow-mode strategies (nobody has appealed their
    decisions), and strategies launched or changed within var('qa_recent_change_days') days. -#}

{%- set per_strategy = validated_number_var('qa_flagged_per_strategy', 0, 100000) | int -%}
{%- set boost = validated_number_var('qa_flagged_boost', 1, 1000) | int -%}
{%- set recent_days = validated_number_var('qa_recent_change_days', 0, 3650) | int -%}

with

hits as (

    select * from {{ ref('int_strategy_hits_enriched') }}

),

strategies as (

    select * from {{ ref('int_strategy_profiles') }}

),

changes as (

    select * from {{ ref('stg_marketplace__strategy_changes') }}

),

queue_day as (

    select * from {{ ref('int_qa_queue_day') }}

),

bounds as (

    select
        queue_date,
        day_start_at,
        day_end_at,
        cast({{ dbt.dateadd('day', -recent_days, 'queue_date') }} as {{ dbt.type_timestamp() }}) as recent_since_at

    from queue_day

),

day_hits as (

    select
        hits.strategy_id,
        count(distinct hits.target_id) as n_targets_hit

    from hits
    cross join bounds
    where
        bounds.day_start_at <= hits.hit_at
        and hits.hit_at < bounds.day_end_at
    group by hits.strategy_id

),

recent_changes as (

    select
        changes.strategy_id,
        max(case when changes.change_type = 'launch' then 1 else 0 end) as was_launched,
        max(case when changes.change_type <> 'launch' then 1 else 0 end) as was_changed

    from changes
    cross join bounds
    where
        bounds.recent_since_at <= changes.changed_at
        and changes.changed_at < bounds.day_end_at
    group by changes.strategy_id

),

reasons as (

    select
        day_hits.strategy_id,
        day_hits.n_targets_hit,
        case
            when strategies.is_shadow_mode then 'shadow_mode'
            when recent_changes.was_launched = 1 then 'new_strategy'
            when recent_changes.was_changed = 1 then 'recently_changed'
            else 'standard'
        end as selection_reason

    from day_hits
    left join strategies
        on day_hits.strategy_id = strategies.strategy_id
    left join recent_changes
        on day_hits.strategy_id = recent_changes.strategy_id

)

select
    bounds.queue_date,
    reasons.strategy_id,
    reasons.n_targets_hit,
    reasons.selection_reason,
    cast(
        least(
            reasons.n_targets_hit,
            case
                when reasons.selection_reason = 'standard' then {{ per_strategy }}
                else {{ per_strategy * boost }}
            end
        ) as integer
    ) as strategy_sample_size

from reasons
cross join bounds
