{#- The values metric_movement_attribution explains are the published ones: its `ALL` × `ALL`
    value on both days of every movement equals metrics_daily's, so the decomposed change is the
    change readers see. Returns the movements that disagree. -#}

with

attribution as (

    select * from {{ ref('metric_movement_attribution') }}

),

metrics as (

    select * from {{ ref('metrics_daily') }}

),

movements as (

    select distinct
        metric_name,
        metric_date,
        comparison_date,
        value_before,
        value_after

    from attribution

)

select
    movements.metric_name,
    movements.metric_date,
    movements.value_before,
    movements.value_after,
    before_day.value as published_value_before,
    after_day.value as published_value_after

from movements
left join metrics as before_day
    on
        movements.metric_name = before_day.metric_name
        and movements.comparison_date = before_day.metric_date
        and before_day.region = 'ALL'
        and before_day.category = 'ALL'
left join metrics as after_day
    on
        movements.metric_name = after_day.metric_name
        and movements.metric_date = after_day.metric_date
        and after_day.region = 'ALL'
        and after_day.category = 'ALL'
where
    before_day.value is null
    or after_day.value is null
    or abs(movements.value_before - before_day.value) > 1e-12
    or abs(movements.value_after - after_day.value) > 1e-12
    or not before_day.is_mature
    or not after_day.is_mature
