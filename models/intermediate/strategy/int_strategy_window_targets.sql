{#- Distinct targets each strategy hit in each trailing window: one row per row of
    int_strategy_window_grid. Counted from the days each target was hit: a hit day counts the
    target on the days of the windows it falls in that an earlier hit day of the same target
    does not already cover, so each target counts once per window without expanding every hit
    into every window day. -#}

with

hits as (

    select * from {{ ref('int_strategy_hits_enriched') }}

),

grid as (

    select * from {{ ref('int_strategy_window_grid') }}

),

window_lengths as (

    {{ trailing_window_days() }}

),

target_hit_days as (

    select distinct
        strategy_id,
        target_id,
        hit_date

    from hits
    where target_id is not null

),

target_previous_hit_days as (

    select
        strategy_id,
        target_id,
        hit_date,
        lag(hit_date) over (partition by strategy_id, target_id order by hit_date) as previous_hit_date

    from target_hit_days

),

target_coverage as (

    {#- A hit day counts its target in the windows ending on hit_date .. hit_date + window - 1;
        the days up to previous_hit_date + window - 1 are already counted by the previous hit
        day. Both ends as dates; the span ends the day before coverage_end_date. #}
    select
        target_previous_hit_days.strategy_id,
        window_lengths.window_days,
        greatest(
            target_previous_hit_days.hit_date,
            coalesce(
                cast({{ dbt.dateadd(
                    'day', 'window_lengths.window_days', 'target_previous_hit_days.previous_hit_date'
                ) }} as date),
                target_previous_hit_days.hit_date
            )
        ) as coverage_start_date,
        cast({{ dbt.dateadd('day', 'window_lengths.window_days', 'target_previous_hit_days.hit_date') }} as date)
            as coverage_end_date

    from target_previous_hit_days
    cross join window_lengths

),

target_count_changes as (

    select
        strategy_id,
        window_days,
        coverage_start_date as metric_date,
        1 as change_in_targets

    from target_coverage

    union all

    select
        strategy_id,
        window_days,
        coverage_end_date as metric_date,
        -1 as change_in_targets

    from target_coverage

    union all

    {#- Every grid day, so that the running count below has a row for each. #}
    select
        strategy_id,
        window_days,
        metric_date,
        0 as change_in_targets

    from grid

),

target_count_days as (

    select
        strategy_id,
        window_days,
        metric_date,
        sum(change_in_targets) as change_in_targets

    from target_count_changes
    group by strategy_id, window_days, metric_date

),

running_counts as (

    select
        strategy_id,
        metric_date,
        window_days,
        sum(change_in_targets) over (
            partition by strategy_id, window_days
            order by metric_date
            rows between unbounded preceding and current row
        ) as n_targets_hit

    from target_count_days

),

final as (

    select
        grid.strategy_id,
        grid.metric_date,
        grid.window_days,
        running_counts.n_targets_hit

    from grid
    inner join running_counts
        on
            grid.strategy_id = running_counts.strategy_id
            and grid.metric_date = running_counts.metric_date
            and grid.window_days = running_counts.window_days

)

select
    strategy_id,
    metric_date,
    window_days,
    cast(n_targets_hit as {{ dbt.type_bigint() }}) as n_targets_hit

from final
