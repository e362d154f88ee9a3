{#- Weekly, monthly and trailing-7-day rates of every north-star metric and segment of
    metrics_daily: the ratio of the summed daily counts (never an average of daily rates), the
    Wilson 95% interval of the summed counts (of their effective counts for a ratio of sums:
    the numerator, denominator and sum of squared amounts are summed first), and whether the period is complete (every one of
    its days lies between the metric's first complete day, the first the data covers, and the
    reporting date) and mature (its last day's window has closed). Weeks are ISO weeks, Monday to Sunday; months are calendar months. -#}

with

metrics_daily as (

    select * from {{ ref('metrics_daily') }}

),

metric_sums as (

    select * from {{ ref('int_metric_sums_daily') }}

),

metric_definitions as (

    select * from {{ ref('metric_definitions') }}

),

maturity as (

    select * from {{ ref('int_metric_maturity') }}

),

first_days as (

    select
        metric_name,
        min(case when is_complete then metric_date end) as first_metric_date

    from metrics_daily
    group by metric_name

),

calendar_periods as (

    select
        metric_name,
        metric_date,
        region,
        category,
        numerator,
        denominator,
        denominator_sum_squares,
        cast({{ dbt.date_trunc('week', 'metric_date') }} as date) as week_start,
        cast({{ dbt.date_trunc('month', 'metric_date') }} as date) as month_start

    from metric_sums

),

weekly as (

    select
        'week' as period_grain,
        week_start as period_start,
        cast({{ dbt.dateadd('day', 6, 'week_start') }} as date) as period_end,
        7 as days_in_period,
        metric_name,
        region,
        category,
        sum(numerator) as numerator,
        sum(denominator) as denominator,
        sum(denominator_sum_squares) as denominator_sum_squares,
        count(*) as n_days

    from calendar_periods
    group by week_start, metric_name, region, category

),

monthly as (

    select
        'month' as period_grain,
        month_start as period_start,
        cast({{ dbt.last_day('month_start', 'month') }} as date) as period_end,
        extract(day from {{ dbt.last_day('month_start', 'month') }}) as days_in_period,
        metric_name,
        region,
        category,
        sum(numerator) as numerator,
        sum(denominator) as denominator,
        sum(denominator_sum_squares) as denominator_sum_squares,
        count(*) as n_days

    from calendar_periods
    group by month_start, metric_name, region, category

),

-- The sums hold every day of every series, so the 7 rows up to a day are its 7 days.
trailing_7_days as (

    select
        'rolling_7_days' as period_grain,
        cast({{ dbt.dateadd('day', -6, 'metric_date') }} as date) as period_start,
        metric_date as period_end,
        7 as days_in_period,
        metric_name,
        region,
        category,
        sum(numerator) over trailing_week as numerator,
        sum(denominator) over trailing_week as denominator,
        sum(denominator_sum_squares) over trailing_week as denominator_sum_squares,
        count(*) over trailing_week as n_days

    from metric_sums
    window trailing_week as (
        partition by metric_name, region, category
        order by metric_date
        rows between 6 preceding and current row
    )

),

period_sums as (

    {% for grain in ['weekly', 'monthly', 'trailing_7_days'] %}
        select
            period_grain,
            period_start,
            period_end,
            days_in_period,
            metric_name,
            region,
            category,
            numerator,
            denominator,
            denominator_sum_squares,
            n_days
        from {{ grain }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

periods as (

    select
        period_sums.period_grain,
        period_sums.period_start,
        period_sums.period_end,
        period_sums.days_in_period,
        period_sums.metric_name,
        period_sums.region,
        period_sums.category,
        period_sums.numerator,
        period_sums.denominator,
        period_sums.n_days,
        {{ effective_counts(
            'period_sums.numerator', 'period_sums.denominator', 'period_sums.denominator_sum_squares',
            'metric_definitions.interval_method'
        ) }}

    from period_sums
    inner join metric_definitions
        on period_sums.metric_name = metric_definitions.metric_name

),

final as (

    select
        periods.period_grain,
        periods.period_start,
        periods.period_end,
        periods.metric_name,
        periods.region,
        periods.category,
        cast(periods.numerator as bigint) as numerator,
        cast(periods.denominator as bigint) as denominator,
        {{ rate_columns(
            'periods.numerator', 'periods.denominator',
            'periods.effective_numerator', 'periods.effective_denominator'
        ) }},  -- noqa: RF04
        cast(periods.n_days as integer) as n_days,
        cast(periods.days_in_period as integer) as days_in_period,
        coalesce(
            periods.period_start >= first_days.first_metric_date
            and periods.period_end <= maturity.as_of_date,
            false
        ) as is_complete,
        {{ cohort_is_mature('periods.period_end') }} as is_mature

    from periods
    inner join first_days
        on periods.metric_name = first_days.metric_name
    inner join maturity
        on periods.metric_name = maturity.metric_name

)

select
    period_grain,
    period_start,
    period_end,
    metric_name,
    region,
    category,
    numerator,
    denominator,
    value,
    ci_lower,
    ci_upper,
    n_days,
    days_in_period,
    is_complete,
    is_mature

from final
