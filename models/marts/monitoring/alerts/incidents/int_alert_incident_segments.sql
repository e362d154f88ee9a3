{#- The segments behind each incident: the var('alert_top_segments') region × category segments
    that contributed most to the move, in the incident's direction, inside the incident's anchor
    scope (a Vietnam-wide incident names Vietnamese segments). Contributions come from
    metric_movement_attribution's week-over-week comparison, averaged over the incident days
    whose comparison day lies before the incident, so the baseline is never part of the event.
    Means are rounded to 10 decimals: a sum of doubles differs in its last bits with the order
    rows arrive in, and a re-run of the same night must give the same bytes. -#}

{%- set top_n = validated_number_var('alert_top_segments', 1, 50) | int -%}

with

incidents as (

    select * from {{ ref('int_alert_incidents') }}

),

attribution as (

    select * from {{ ref('metric_movement_attribution') }}

),

regions as (

    select * from {{ ref('regions') }}

),

categories as (

    select * from {{ ref('categories') }}

),

incident_moves as (

    select
        incidents.incident_id,
        attribution.metric_date,
        attribution.region,
        attribution.category,
        attribution.contribution,
        attribution.mix_effect,
        attribution.rate_effect,
        attribution.total_change,
        case when incidents.direction = 'down' then -1 else 1 end as direction_sign

    from incidents
    inner join attribution
        on
            incidents.metric_name = attribution.metric_name
            and attribution.comparison = 'week_over_week'
            and incidents.first_day <= attribution.metric_date
            and incidents.last_day >= attribution.metric_date
            and incidents.first_day > attribution.comparison_date
            and (incidents.anchor_region = 'ALL' or incidents.anchor_region = attribution.region)
            and (incidents.anchor_category = 'ALL' or incidents.anchor_category = attribution.category)

),

incident_move_days as (

    select
        incident_id,
        count(distinct metric_date) as n_days

    from incident_moves
    group by incident_id

),

incident_changes as (

    select
        incident_id,
        metric_date,
        max(total_change) as total_change

    from incident_moves
    group by incident_id, metric_date

),

incident_mean_changes as (

    select
        incident_id,
        round(avg(total_change), 10) as mean_total_change

    from incident_changes
    group by incident_id

),

segment_means as (

    select
        incident_moves.incident_id,
        incident_moves.region,
        incident_moves.category,
        max(incident_moves.direction_sign) as direction_sign,
        round(sum(incident_moves.contribution) / max(incident_move_days.n_days), 10) as contribution,
        round(sum(incident_moves.mix_effect) / max(incident_move_days.n_days), 10) as mix_effect,
        round(sum(incident_moves.rate_effect) / max(incident_move_days.n_days), 10) as rate_effect

    from incident_moves
    inner join incident_move_days
        on incident_moves.incident_id = incident_move_days.incident_id
    group by incident_moves.incident_id, incident_moves.region, incident_moves.category

),

ranked as (

    select
        segment_means.incident_id,
        segment_means.region,
        segment_means.category,
        segment_means.contribution,
        segment_means.mix_effect,
        segment_means.rate_effect,
        row_number() over (
            partition by segment_means.incident_id
            order by
                segment_means.contribution * segment_means.direction_sign desc,
                segment_means.region, segment_means.category asc
        ) as segment_rank

    from segment_means
    where segment_means.contribution * segment_means.direction_sign > 0

)

select
    ranked.incident_id,
    ranked.segment_rank,
    ranked.region,
    ranked.category,
    ranked.contribution,
    ranked.mix_effect,
    ranked.rate_effect,
    incident_mean_changes.mean_total_change,
    coalesce(regions.region_name, ranked.region) as region_name,
    coalesce(categories.category_name, ranked.category) as category_name

from ranked
inner join incident_mean_changes
    on ranked.incident_id = incident_mean_changes.incident_id
left join regions
    on ranked.region = regions.region_code
left join categories
    on ranked.category = categories.category_code
where ranked.segment_rank <= {{ top_n }}
