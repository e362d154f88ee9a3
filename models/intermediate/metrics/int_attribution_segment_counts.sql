{#- Numerator and denominator of every north-star metric per mature, complete day and finest
    segment (region × category), the input of the movement attribution. Records whose region or
    category is unknown form their own `UNKNOWN` segment, so the segments add up exactly to the
    `ALL` × `ALL` value of metrics_daily. Immature days are left out (their values still move),
    and so are days before the coverage of the source the metric counts (their values miss
    events that were never exported). -#}

with

metric_counts as (

    select * from {{ ref('int_metric_counts_daily') }}

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

mature_counts as (

    select
        metric_counts.metric_name,
        metric_counts.metric_date,
        metric_counts.numerator,
        metric_counts.denominator,
        coalesce(metric_counts.region, 'UNKNOWN') as region,
        coalesce(metric_counts.category, 'UNKNOWN') as category

    from metric_counts
    inner join metric_definitions
        on metric_counts.metric_name = metric_definitions.metric_name
    inner join source_coverage
        on metric_definitions.outcome_source = source_coverage.source_name
    cross join as_of
    where
        {{ dbt.dateadd('day', 'metric_definitions.maturity_days', 'metric_counts.metric_date') }}
        <= as_of.as_of_date
        and metric_counts.metric_date >= source_coverage.coverage_start_date

)

select
    metric_name,
    cast(metric_date as date) as metric_date,
    region,
    category,
    cast(sum(numerator) as double) as numerator,
    cast(sum(denominator) as double) as denominator

from mature_counts
group by metric_name, metric_date, region, category
