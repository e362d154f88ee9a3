{#- Strategy changes coinciding with each incident: every change metric_movement_interventions
    lists for one of the incident's days, once per incident, ranked by how much the strategy's
    daily enforcement (else its daily hits) moved around the change. -#}

with

incidents as (

    select * from {{ ref('int_alert_incidents') }}

),

interventions as (

    select * from {{ ref('metric_movement_interventions') }}

),

matched as (

    select
        incidents.incident_id,
        interventions.change_id,
        interventions.strategy_id,
        interventions.strategy_name,
        interventions.change_type,
        interventions.change_description,
        interventions.changed_at,
        interventions.change_date,
        interventions.hits_per_day_before,
        interventions.hits_per_day_after,
        interventions.hit_volume_change,
        interventions.enforced_hits_per_day_before,
        interventions.enforced_hits_per_day_after,
        interventions.enforcement_volume_change,
        row_number() over (
            partition by incidents.incident_id, interventions.change_id
            order by abs(interventions.days_from_change), interventions.metric_date
        ) as match_rank

    from incidents
    inner join interventions
        on
            incidents.metric_name = interventions.metric_name
            and incidents.first_day <= interventions.metric_date
            and incidents.last_day >= interventions.metric_date

),

deduplicated as (

    select
        *,
        coalesce(
            abs(enforced_hits_per_day_after - enforced_hits_per_day_before),
            abs(hits_per_day_after - hits_per_day_before),
            0
        ) as volume_shift_per_day

    from matched
    where match_rank = 1

)

select
    incident_id,
    change_id,
    strategy_id,
    strategy_name,
    change_type,
    change_description,
    changed_at,
    change_date,
    hits_per_day_before,
    hits_per_day_after,
    hit_volume_change,
    enforced_hits_per_day_before,
    enforced_hits_per_day_after,
    enforcement_volume_change,
    volume_shift_per_day,
    row_number() over (
        partition by incident_id
        order by volume_shift_per_day desc, changed_at desc, change_id asc
    ) as change_rank

from deduplicated
