{#- The north-star metric table: one row per metric, day and segment, dense over the seed
    regions and categories plus their `ALL` roll-ups (int_metric_sums_daily), with the 95%
    interval (Wilson, on the effective counts of the metric's interval method), a maturity flag
    and a completeness flag (the cohort day lies inside the coverage of the source whose events
    the metric counts). See the metric glossary for the definitions. -#}

with

metric_sums as (

    select * from {{ ref('int_metric_sums_daily') }}

),

metric_definitions as (

    select * from {{ ref('metric_definitions') }}

),

as_of as (

    select * from {{ ref('int_as_of_date') }}

),

source_coverage as (

    select * from {{ ref('int_source_coverage') }}

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
        {{ dbt.dateadd('day', 'metric_definitions.maturity_days', 'metric_sums.metric_date') }}
        <= as_of.as_of_date as is_mature,
        coalesce(metric_sums.metric_date >= source_coverage.coverage_start_date, false) as is_complete

    from metric_sums
    inner join metric_definitions
        on metric_sums.metric_name = metric_definitions.metric_name
    left join source_coverage
        on metric_definitions.outcome_source = source_coverage.source_name
    cross join as_of

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
