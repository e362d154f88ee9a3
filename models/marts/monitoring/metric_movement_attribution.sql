{#- Why did a north-star metric move? One row per metric, mature day, comparison (day over day,
    week over week) and finest segment (region × category), splitting the change of the
    `ALL` × `ALL` value into each segment's mix effect and rate effect.

    With segment weight w = segment denominator / total denominator and segment rate
    r = numerator / denominator, the total value is sum(w × r), and its change from the
    comparison day (0) to the day (1) splits exactly, segment by segment, into
        mix effect  = (w1 − w0) × (r0 + r1) / 2     (the segment's share of the cohort changed)
        rate effect = (r1 − r0) × (w0 + w1) / 2     (the segment's own rate changed).
    A segment absent on one side has weight 0 there and no rate; it takes the other side's rate,
    so its whole contribution (its entry or exit) is a mix effect and the sum stays exact. -#}

{%- set comparisons = {'day_over_day': 1, 'week_over_week': 7} -%}

with

segment_counts as (

    select * from {{ ref('int_attribution_segment_counts') }}

),

comparisons as (

    {% for name, lag_days in comparisons.items() %}
        select
            '{{ name }}' as comparison,
            {{ lag_days }} as lag_days
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

totals as (

    select
        metric_name,
        metric_date,
        sum(numerator) as numerator,
        sum(denominator) as denominator

    from segment_counts
    group by metric_name, metric_date

),

movements as (

    select
        current_day.metric_name,
        current_day.metric_date,
        comparisons.comparison,
        comparison_day.metric_date as comparison_date,
        comparison_day.denominator as total_denominator_before,
        current_day.denominator as total_denominator_after,
        comparison_day.numerator / comparison_day.denominator as value_before,
        current_day.numerator / current_day.denominator as value_after

    from totals as current_day
    cross join comparisons
    inner join totals as comparison_day
        on
            current_day.metric_name = comparison_day.metric_name
            and cast({{ dbt.dateadd('day', '-comparisons.lag_days', 'current_day.metric_date') }} as date)
            = comparison_day.metric_date
    where
        current_day.denominator > 0
        and comparison_day.denominator > 0

),

movement_segments as (

    select
        movements.metric_name,
        movements.metric_date,
        movements.comparison,
        segment_counts.region,
        segment_counts.category

    from movements
    inner join segment_counts
        on
            movements.metric_name = segment_counts.metric_name
            and movements.metric_date = segment_counts.metric_date

    union

    select
        movements.metric_name,
        movements.metric_date,
        movements.comparison,
        segment_counts.region,
        segment_counts.category

    from movements
    inner join segment_counts
        on
            movements.metric_name = segment_counts.metric_name
            and movements.comparison_date = segment_counts.metric_date

),

segment_sides as (

    select
        movements.metric_name,
        movements.metric_date,
        movements.comparison,
        movements.comparison_date,
        movement_segments.region,
        movement_segments.category,
        movements.value_before,
        movements.value_after,
        coalesce(before_side.numerator, 0) as numerator_before,
        coalesce(before_side.denominator, 0) as denominator_before,
        coalesce(after_side.numerator, 0) as numerator_after,
        coalesce(after_side.denominator, 0) as denominator_after,
        coalesce(before_side.denominator, 0) / movements.total_denominator_before as weight_before,
        coalesce(after_side.denominator, 0) / movements.total_denominator_after as weight_after,
        case
            when before_side.denominator > 0 then before_side.numerator / before_side.denominator
        end as rate_before,
        case
            when after_side.denominator > 0 then after_side.numerator / after_side.denominator
        end as rate_after

    from movement_segments
    inner join movements
        on
            movement_segments.metric_name = movements.metric_name
            and movement_segments.metric_date = movements.metric_date
            and movement_segments.comparison = movements.comparison
    left join segment_counts as before_side
        on
            movement_segments.metric_name = before_side.metric_name
            and movements.comparison_date = before_side.metric_date
            and movement_segments.region = before_side.region
            and movement_segments.category = before_side.category
    left join segment_counts as after_side
        on
            movement_segments.metric_name = after_side.metric_name
            and movements.metric_date = after_side.metric_date
            and movement_segments.region = after_side.region
            and movement_segments.category = after_side.category

),

effects as (

    select
        segment_sides.metric_name,
        segment_sides.metric_date,
        segment_sides.comparison,
        segment_sides.comparison_date,
        segment_sides.region,
        segment_sides.category,
        segment_sides.value_before,
        segment_sides.value_after,
        segment_sides.numerator_before,
        segment_sides.denominator_before,
        segment_sides.numerator_after,
        segment_sides.denominator_after,
        segment_sides.weight_before,
        segment_sides.weight_after,
        segment_sides.rate_before,
        segment_sides.rate_after,
        (segment_sides.weight_after - segment_sides.weight_before)
        * (
            coalesce(segment_sides.rate_before, segment_sides.rate_after, 0)
            + coalesce(segment_sides.rate_after, segment_sides.rate_before, 0)
        )
        / 2 as mix_effect,
        (
            coalesce(segment_sides.rate_after, segment_sides.rate_before, 0)
            - coalesce(segment_sides.rate_before, segment_sides.rate_after, 0)
        )
        * (segment_sides.weight_before + segment_sides.weight_after)
        / 2 as rate_effect

    from segment_sides

),

ranked as (

    select
        effects.metric_name,
        effects.metric_date,
        effects.comparison,
        effects.comparison_date,
        effects.region,
        effects.category,
        effects.value_before,
        effects.value_after,
        effects.numerator_before,
        effects.denominator_before,
        effects.numerator_after,
        effects.denominator_after,
        effects.weight_before,
        effects.weight_after,
        effects.rate_before,
        effects.rate_after,
        effects.mix_effect,
        effects.rate_effect,
        effects.mix_effect + effects.rate_effect as contribution,
        effects.value_after - effects.value_before as total_change,
        row_number() over (
            partition by effects.metric_name, effects.metric_date, effects.comparison
            order by abs(effects.mix_effect + effects.rate_effect) desc, effects.region, effects.category asc
        ) as contribution_rank

    from effects

)

select
    metric_name,
    metric_date,
    comparison,
    comparison_date,
    region,
    category,
    value_before,
    value_after,
    total_change,
    numerator_before,
    denominator_before,
    numerator_after,
    denominator_after,
    weight_before,
    weight_after,
    rate_before,
    rate_after,
    mix_effect,
    rate_effect,
    contribution,
    cast(contribution_rank as integer) as contribution_rank,
    case when total_change <> 0 then contribution / total_change end as share_of_change

from ranked
