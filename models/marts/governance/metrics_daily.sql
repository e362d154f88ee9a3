{#- The north-star metric table: one row per metric, day and segment, dense over the seed
    regions and categories plus their `ALL` roll-ups (int_metric_sums_daily), with the 95%
    interval (Wilson, on the effective counts of the metric's interval method), a maturity flag
    and a completeness flag (the cohort day lies inside the coverage of the source whose events
    the metric counts). See the metric glossary for the definitions. -#}

with

metric_sums as (

    select * from {{ ref('int_metric_sums_daily') }}

),

maturity as (

    select * from {{ ref('int_metric_maturity') }}

),

final as (

    select
        metric_sums.metric_date,
        metric_sums.metric_name,
        metric_sums.region,
        metric_sums.category,
        metric_sums.numerator,
        metric_sums.denominator,
        {{ rate_columns(
            'metric_sums.numerator', 'metric_sums.denominator',
            'metric_sums.effective_numerator', 'metric_sums.effective_denominator'
        ) }},  -- noqa: RF04
        {{ cohort_status_columns('metric_sums.metric_date') }}

    from metric_sums
    inner join maturity
        on metric_sums.metric_name = maturity.metric_name

)

select
    metric_date,
    metric_name,
    region,
    category,
    numerator,
    denominator,
    value,
    ci_lower,
    ci_upper,
    is_mature,
    is_complete

from final
