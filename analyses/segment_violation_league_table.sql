{#- Which segments had the highest listing violation rate over the last 28 mature days?
    Pooled numerator and denominator per segment, with the Wilson interval of the pooled rate, so
    small segments are not ranked on noise: sort by the lower bound. Compile with
    `dbt compile --select segment_violation_league_table` and run the SQL in any client. -#}

with

metrics as (

    select * from {{ ref('metrics_daily') }}

),

mature_violation_rates as (

    select
        metric_date,
        region,
        category,
        numerator,
        denominator

    from metrics
    where metric_name = 'listing_violation_rate' and is_mature

),

window_start as (

    select {{ dbt.dateadd('day', -28, 'max(metric_date)') }} as first_excluded_date
    from mature_violation_rates

),

recent as (

    select
        mature_violation_rates.region,
        mature_violation_rates.category,
        sum(mature_violation_rates.numerator) as numerator,
        sum(mature_violation_rates.denominator) as denominator

    from mature_violation_rates
    cross join window_start
    where
        mature_violation_rates.region <> 'ALL'
        and mature_violation_rates.category <> 'ALL'
        and mature_violation_rates.metric_date > window_start.first_excluded_date
    group by mature_violation_rates.region, mature_violation_rates.category

)

select
    region,
    category,
    numerator,
    denominator,
    numerator / nullif(denominator, 0) as pooled_rate,
    {{ wilson_bound('numerator', 'denominator', 'lower') }} as pooled_ci_lower,
    {{ wilson_bound('numerator', 'denominator', 'upper') }} as pooled_ci_upper

from recent
order by pooled_ci_lower desc
