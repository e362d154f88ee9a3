{#- The segment contributions of every metric, day and comparison in metric_movement_attribution
    add up to the change of the `ALL` × `ALL` value (up to floating-point rounding): the
    decomposition leaves nothing unexplained. Returns the movements that do not add up. -#}

with

attribution as (

    select * from {{ ref('metric_movement_attribution') }}

),

sums as (

    select
        metric_name,
        metric_date,
        comparison,
        sum(contribution) as sum_of_contributions,
        sum(mix_effect) + sum(rate_effect) as sum_of_effects,
        max(total_change) as total_change,
        min(total_change) as min_total_change

    from attribution
    group by metric_name, metric_date, comparison

)

select
    metric_name,
    metric_date,
    comparison,
    sum_of_contributions,
    sum_of_effects,
    total_change

from sums
where
    abs(sum_of_contributions - total_change) > 1e-9
    or abs(sum_of_effects - total_change) > 1e-9
    or total_change <> min_total_change
