{#- Metric alerts as incidents: one row per incident, with its span, worst severity, the
    segments that drove it, the strategy changes considered as its cause with the share of the
    excess each accounts for, the one that explains it (if any) and a plain-language summary.
    `governance alerts` prints the open ones. -#}

{%- set open_days = validated_number_var('alert_open_days', 0, 365) | int -%}

with

incidents as (

    select * from {{ ref('int_alert_incidents') }}

),

segments as (

    select * from {{ ref('int_alert_incident_segments') }}

),

changes as (

    select * from {{ ref('int_alert_incident_changes') }}

),

summaries as (

    select * from {{ ref('int_alert_incident_summaries') }}

),

segment_lists as (

    select
        incident_id,
        {{ dbt.listagg("region || ' × ' || category", "'; '", 'order by segment_rank') }} as top_segments

    from segments
    group by incident_id

),

top_segment as (

    select
        incident_id,
        region,
        category

    from segments
    where segment_rank = 1

),

change_shares as (

    select
        changes.incident_id,
        changes.change_id,
        changes.strategy_id,
        changes.change_type,
        changes.change_date,
        changes.change_rank,
        cast(cast(round(100 * changes.excess_share) as integer) as {{ dbt.type_string() }})
        || case when incidents.direction = 'down' then '% of the shortfall' else '% of the excess' end
            as share_label

    from changes
    inner join incidents
        on changes.incident_id = incidents.incident_id

),

change_lists as (

    select
        incident_id,
        count(*) as n_strategy_changes,
        {{ dbt.listagg(
            "change_id || ' (' || strategy_id || ' ' || change_type || ' on ' || cast(change_date as "
                ~ dbt.type_string() ~ ") || coalesce(': ' || share_label, '') || ')'",
            "'; '",
            'order by change_rank'
        ) }} as strategy_changes

    from change_shares
    group by incident_id

),

primary_change as (

    select
        incident_id,
        change_id,
        strategy_id,
        excess_share

    from changes
    where change_rank = 1 and is_likely_cause

)

select
    cast(incidents.incident_id as {{ dbt.type_string() }}) as incident_id,
    cast(incidents.metric_name as {{ dbt.type_string() }}) as metric_name,
    cast(incidents.metric_label as {{ dbt.type_string() }}) as metric_label,
    cast(incidents.anchor_region as {{ dbt.type_string() }}) as anchor_region,
    cast(incidents.anchor_category as {{ dbt.type_string() }}) as anchor_category,
    cast(incidents.first_day as date) as first_day,
    cast(incidents.last_day as date) as last_day,
    cast(incidents.n_anomalous_days as integer) as n_anomalous_days,
    cast(incidents.n_series as integer) as n_series,
    cast(incidents.severity as {{ dbt.type_string() }}) as severity,
    cast(incidents.severity_rank as integer) as severity_rank,
    cast(incidents.direction as {{ dbt.type_string() }}) as direction,
    cast(incidents.peak_date as date) as peak_date,
    cast(incidents.peak_value as double) as peak_value,
    cast(incidents.peak_expected_value as double) as peak_expected_value,
    cast(incidents.related_series as {{ dbt.type_string() }}) as related_series,
    cast(top_segment.region as {{ dbt.type_string() }}) as top_segment_region,
    cast(top_segment.category as {{ dbt.type_string() }}) as top_segment_category,
    cast(segment_lists.top_segments as {{ dbt.type_string() }}) as top_segments,
    cast(coalesce(change_lists.n_strategy_changes, 0) as integer) as n_strategy_changes,
    cast(primary_change.change_id as {{ dbt.type_string() }}) as primary_change_id,
    cast(primary_change.strategy_id as {{ dbt.type_string() }}) as primary_strategy_id,
    cast(primary_change.excess_share as double) as primary_change_share,
    cast(change_lists.strategy_changes as {{ dbt.type_string() }}) as strategy_changes,
    cast(incidents.latest_judged_date as date) as latest_judged_date,
    coalesce(
        cast({{ dbt.dateadd('day', open_days, 'incidents.last_day') }} as date) >= incidents.latest_judged_date,
        false
    ) as is_open,
    cast(summaries.summary as {{ dbt.type_string() }}) as summary  -- noqa: RF04

from incidents
left join summaries
    on incidents.incident_id = summaries.incident_id
left join segment_lists
    on incidents.incident_id = segment_lists.incident_id
left join top_segment
    on incidents.incident_id = top_segment.incident_id
left join change_lists
    on incidents.incident_id = change_lists.incident_id
left join primary_change
    on incidents.incident_id = primary_change.incident_id
