{#- One row per incident: its anchor series (the highest-level series that fired), first and last
    anomalous day, worst severity, the anchor's peak day, the other series grouped under it and
    the latest day its metric has been judged on. -#}

with

incident_days as (

    select * from {{ ref('int_alert_incident_days') }}

),

anomalies as (

    select * from {{ ref('metric_anomalies') }}

),

metric_definitions as (

    select * from {{ ref('metric_definitions') }}

),

regions as (

    select * from {{ ref('regions') }}

),

categories as (

    select * from {{ ref('categories') }}

),

days as (

    select
        incident_id,
        metric_name,
        region,
        category,
        cast(metric_date as date) as metric_date,
        series_level,
        is_anchor_series,
        anchor_region,
        anchor_category,
        severity,
        severity_rank,
        direction,
        value,
        expected_value,
        anomaly_score

    from incident_days

),

incident_spans as (

    select
        incident_id,
        metric_name,
        anchor_region,
        anchor_category,
        min(metric_date) as first_day,
        max(metric_date) as last_day,
        count(distinct metric_date) as n_anomalous_days,
        max(severity_rank) as severity_rank

    from days
    group by incident_id, metric_name, anchor_region, anchor_category

),

-- The level's name as the detector wrote it (governance.severity holds the scale).
severity_levels as (

    select distinct
        severity_rank,
        severity

    from days

),

ranked_anchor_days as (

    select
        incident_id,
        metric_date,
        direction,
        value,
        expected_value,
        row_number() over (
            partition by incident_id
            order by abs(coalesce(anomaly_score, 0)) desc, metric_date
        ) as peak_rank

    from days
    where is_anchor_series

),

series as (

    select distinct
        incident_id,
        region,
        category,
        series_level,
        is_anchor_series

    from days

),

series_labels as (

    select
        series.incident_id,
        series.series_level,
        series.is_anchor_series,
        case
            when series.region = 'ALL' and series.category = 'ALL' then 'the whole marketplace'
            when series.category = 'ALL' then coalesce(regions.region_name, series.region) || ' (all categories)'
            when series.region = 'ALL' then coalesce(categories.category_name, series.category) || ' (all regions)'
            else
                coalesce(regions.region_name, series.region)
                || ' × '
                || coalesce(categories.category_name, series.category)
        end as series_label

    from series
    left join regions
        on series.region = regions.region_code
    left join categories
        on series.category = categories.category_code

),

series_counts as (

    select
        incident_id,
        count(*) as n_series

    from series_labels
    group by incident_id

),

related_series as (

    select
        incident_id,
        {{ dbt.listagg('series_label', "', '", 'order by series_level, series_label') }} as related_series

    from series_labels
    where not is_anchor_series
    group by incident_id

),

latest_judged as (

    select
        metric_name,
        max(metric_date) as latest_judged_date

    from anomalies
    group by metric_name

)

select
    incident_spans.incident_id,
    incident_spans.metric_name,
    metric_definitions.metric_label,
    incident_spans.anchor_region,
    incident_spans.anchor_category,
    incident_spans.first_day,
    incident_spans.last_day,
    incident_spans.n_anomalous_days,
    series_counts.n_series,
    severity_levels.severity,
    incident_spans.severity_rank,
    ranked_anchor_days.direction,
    ranked_anchor_days.metric_date as peak_date,
    ranked_anchor_days.value as peak_value,
    ranked_anchor_days.expected_value as peak_expected_value,
    related_series.related_series,
    cast(latest_judged.latest_judged_date as date) as latest_judged_date,
    coalesce(regions.region_name, incident_spans.anchor_region) as anchor_region_name,
    coalesce(categories.category_name, incident_spans.anchor_category) as anchor_category_name

from incident_spans
inner join ranked_anchor_days
    on
        incident_spans.incident_id = ranked_anchor_days.incident_id
        and ranked_anchor_days.peak_rank = 1
inner join series_counts
    on incident_spans.incident_id = series_counts.incident_id
inner join severity_levels
    on incident_spans.severity_rank = severity_levels.severity_rank
left join related_series
    on incident_spans.incident_id = related_series.incident_id
left join metric_definitions
    on incident_spans.metric_name = metric_definitions.metric_name
left join regions
    on incident_spans.anchor_region = regions.region_code
left join categories
    on incident_spans.anchor_category = categories.category_code
left join latest_judged
    on incident_spans.metric_name = latest_judged.metric_name
