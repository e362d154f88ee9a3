{#- The BI-ready view of the north-star rates: every grain (day, ISO week, calendar month,
    trailing 7 days) of every metric and segment, with the metric's label, unit, direction and
    target read from the metric registry (the metric_definitions seed), the region and category
    names, which rows are roll-ups, and each rate's status against its target. -#}

{{ config(materialized='view') }}

with

metrics_daily as (

    select * from {{ ref('metrics_daily') }}

),

metrics_by_period as (

    select * from {{ ref('metrics_by_period') }}

),

metric_definitions as (

    select * from {{ ref('metric_definitions') }}

),

regions as (

    select * from {{ ref('regions') }}

),

categories as (

    select * from {{ ref('categories') }}

),

{#- The columns both grains carry under the same names, in one order. -#}
{%- set rate_columns = [
    'metric_name', 'region', 'category', 'numerator', 'denominator', 'value',
    'ci_lower', 'ci_upper', 'is_complete', 'is_mature'
] %}

rates as (

    select
        'day' as period_grain,
        metric_date as period_start,
        metric_date as period_end,
        {{ rate_columns | join(',\n        ') }},
        1 as n_days,
        1 as days_in_period
    from metrics_daily

    union all

    select
        period_grain,
        period_start,
        period_end,
        {{ rate_columns | join(',\n        ') }},
        n_days,
        days_in_period
    from metrics_by_period

),

final as (

    select
        rates.period_grain,
        rates.period_start,
        rates.period_end,
        rates.metric_name,
        metric_definitions.metric_label,
        metric_definitions.unit,
        metric_definitions.direction_is_good,
        metric_definitions.target_value,
        rates.region,
        coalesce(regions.region_name, 'All regions') as region_name,
        rates.category,
        coalesce(categories.category_name, 'All categories') as category_name,
        case
            when rates.region = 'ALL' and rates.category = 'ALL' then 'marketplace'
            when rates.region = 'ALL' then 'category'
            when rates.category = 'ALL' then 'region'
            else 'region_category'
        end as segment_level,
        (rates.region = 'ALL' or rates.category = 'ALL') as is_roll_up,
        rates.numerator,
        rates.denominator,
        rates.value,
        rates.ci_lower,
        rates.ci_upper,
        cast(rates.n_days as integer) as n_days,
        cast(rates.days_in_period as integer) as days_in_period,
        rates.is_complete,
        rates.is_mature,
        {{ target_status(
            'rates.value', 'rates.ci_lower', 'rates.ci_upper',
            'metric_definitions.target_value', 'metric_definitions.direction_is_good'
        ) }} as target_status

    from rates
    inner join metric_definitions
        on rates.metric_name = metric_definitions.metric_name
    left join regions
        on rates.region = regions.region_code
    left join categories
        on rates.category = categories.category_code

)

select
    period_grain,
    period_start,
    period_end,
    metric_name,
    metric_label,
    unit,
    direction_is_good,
    target_value,
    region,
    region_name,
    category,
    category_name,
    segment_level,
    is_roll_up,
    numerator,
    denominator,
    value,
    ci_lower,
    ci_upper,
    n_days,
    days_in_period,
    is_complete,
    is_mature,
    target_status

from final
