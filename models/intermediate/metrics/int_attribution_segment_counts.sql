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

maturity as (

    select * from {{ ref('int_metric_maturity') }}

),

counts_with_status as (

    select
        metric_counts.metric_name,
        metric_counts.metric_date,
        metric_counts.numerator,
        metric_counts.denominator,
        coalesce(metric_counts.region, 'UNKNOWN') as region,
        coalesce(metric_counts.category, 'UNKNOWN') as category,
        {{ cohort_status_columns('metric_counts.metric_date') }}

    from metric_counts
    inner join maturity
        on metric_counts.metric_name = maturity.metric_name

),

mature_counts as (

    select
        metric_name,
        metric_date,
        numerator,
        denominator,
        region,
        category

    from counts_with_status
    where is_mature and is_complete

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
