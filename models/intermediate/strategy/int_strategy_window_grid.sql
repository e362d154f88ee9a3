{#- The rows of the strategy scorecard: one per strategy, trailing window length
    (trailing_window_lengths()) and day the strategy was active, from the first hit in the data
    on. -#}

with

strategies as (

    select * from {{ ref('int_strategy_profiles') }}

),

hits as (

    select * from {{ ref('int_strategy_hits_enriched') }}

),

calendar as (

    select * from {{ ref('int_calendar_days') }}

),

data_start as (

    select min(hit_date) as first_hit_date
    from hits

),

window_lengths as (

    {{ trailing_window_days() }}

),

final as (

    select
        strategies.strategy_id,
        calendar.calendar_date as metric_date,
        window_lengths.window_days

    from strategies
    cross join data_start
    inner join calendar
        on
            strategies.active_from_date <= calendar.calendar_date
            and strategies.active_to_date >= calendar.calendar_date
            and data_start.first_hit_date <= calendar.calendar_date
    cross join window_lengths

)

select
    strategy_id,
    metric_date,
    window_days

from final
