{#- The sums behind every north-star rate: one row per metric, day and segment, dense over the
    seed regions and categories plus their `ALL` roll-ups (every day from the metric's first to
    the reporting date, 0 where nothing happened), with the numerator, the denominator, the sum
    of squared record amounts, and the effective counts the interval and the anomaly detector
    use (effective_counts(): the counts themselves for a binomial count, the Kish effective
    sample size for a ratio of sums). metrics_daily publishes the rates; metrics_by_period sums
    these columns over weeks and months. -#}

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

{#- Each segment, then each region over every category, each category over every region and
    the marketplace: the keys a level keeps, the others read `ALL`. -#}
{%- set roll_up_levels = [['region', 'category'], ['region'], ['category'], []] %}

rolled_up as (

    {% for kept in roll_up_levels %}
        select
            metric_name,
            metric_date,
            {{ 'region' if 'region' in kept else "'ALL'" }} as region,
            {{ 'category' if 'category' in kept else "'ALL'" }} as category,
            sum(numerator) as numerator,
            sum(denominator) as denominator,
            sum(denominator_sum_squares) as denominator_sum_squares
        from metric_counts
        group by metric_name, metric_date{% for key in kept %}, {{ key }}{% endfor %}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

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
        cast(coalesce(rolled_up.numerator, 0) as bigint) as numerator,
        cast(coalesce(rolled_up.denominator, 0) as bigint) as denominator,
        cast(coalesce(rolled_up.denominator_sum_squares, 0) as decimal(38, 0)) as denominator_sum_squares

    from grid
    left join rolled_up
        on
            grid.metric_name = rolled_up.metric_name
            and grid.metric_date = rolled_up.metric_date
            and grid.region = rolled_up.region
            and grid.category = rolled_up.category

)

select
    cast(densified.metric_date as date) as metric_date,
    densified.metric_name,
    densified.region,
    densified.category,
    densified.numerator,
    densified.denominator,
    densified.denominator_sum_squares,
    {{ effective_counts(
        'densified.numerator', 'densified.denominator', 'densified.denominator_sum_squares',
        'metric_definitions.interval_method'
    ) }}

from densified
inner join metric_definitions
    on densified.metric_name = metric_definitions.metric_name
