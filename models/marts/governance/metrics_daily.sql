{#- The north-star metric table: one row per metric, day and segment, dense over the seed
    regions and categories plus their `ALL` roll-ups, with the Wilson 95% interval, a maturity
    flag and a completeness flag (the cohort day lies inside the coverage of the source whose
    events the metric counts). See the metric glossary for the definitions. -#}

with

metric_counts as (

    select * from {{ ref('int_metric_counts_daily') }}

),

calendar as (

    select * from {{ ref('int_calendar_days') }}

),

regions as (

    select * from {{ ref('regions') }}

),

categories as (

    select * from {{ ref('categories') }}

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

rolled_up as (

    select
        metric_name,
        metric_date,
        region,
        category,
        numerator,
        denominator
    from metric_counts

    union all

    select
        metric_name,
        metric_date,
        region,
        'ALL' as category,
        sum(numerator) as numerator,
        sum(denominator) as denominator
    from metric_counts
    group by metric_name, metric_date, region

    union all

    select
        metric_name,
        metric_date,
        'ALL' as region,
        category,
        sum(numerator) as numerator,
        sum(denominator) as denominator
    from metric_counts
    group by metric_name, metric_date, category

    union all

    select
        metric_name,
        metric_date,
        'ALL' as region,
        'ALL' as category,
        sum(numerator) as numerator,
        sum(denominator) as denominator
    from metric_counts
    group by metric_name, metric_date

),

first_dates as (

    select
        metric_name,
        min(metric_date) as first_metric_date

    from metric_counts
    group by metric_name

),

region_codes as (

    select region_code as region from regions
    union all
    select 'ALL' as region

),

category_codes as (

    select category_code as category from categories
    union all
    select 'ALL' as category

),

grid as (

    select
        first_dates.metric_name,
        calendar.calendar_date as metric_date,
        region_codes.region,
        category_codes.category

    from first_dates
    inner join calendar
        on first_dates.first_metric_date <= calendar.calendar_date
    cross join region_codes
    cross join category_codes

),

densified as (

    select
        grid.metric_name,
        grid.metric_date,
        grid.region,
        grid.category,
        coalesce(rolled_up.numerator, 0) as numerator,
        coalesce(rolled_up.denominator, 0) as denominator

    from grid
    left join rolled_up
        on
            grid.metric_name = rolled_up.metric_name
            and grid.metric_date = rolled_up.metric_date
            and grid.region = rolled_up.region
            and grid.category = rolled_up.category

),

final as (

    select
        cast(densified.metric_date as date) as metric_date,
        densified.metric_name,
        densified.region,
        densified.category,
        cast(densified.numerator as bigint) as numerator,
        cast(densified.denominator as bigint) as denominator,
        {{ rate_columns('densified.numerator', 'densified.denominator') }},  -- noqa: RF04
        {{ dbt.dateadd('day', 'metric_definitions.maturity_days', 'densified.metric_date') }}
        <= as_of.as_of_date as is_mature,
        coalesce(densified.metric_date >= source_coverage.coverage_start_date, false) as is_complete

    from densified
    inner join metric_definitions
        on densified.metric_name = metric_definitions.metric_name
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
