{#- Trailing windows of the strategy scorecard (strategy_performance_daily): every figure is
    given over the 1, 7 and 28 days ending on each day. An event dated d counts in the window of
    length w ending on each of the days d, d + 1, ..., d + w - 1: its window offsets. -#}

{#- The window lengths in days: the one list the scorecard's models read. -#}
{% macro trailing_window_lengths() -%}
    {{ return([1, 7, 28]) }}
{%- endmacro %}


{#- A query of one row per window length (`window_days`). -#}
{% macro trailing_window_days() -%}
    {%- for window in trailing_window_lengths() %}
        select {{ window }} as window_days
        {%- if not loop.last %}
        union all
        {%- endif %}
    {%- endfor %}
{%- endmacro %}


{#- A query of one row per window length (`window_days`) and offset (`day_offset`, 0 to
    window_days - 1): the days after an event on which each window still holds it. -#}
{% macro trailing_window_offsets() -%}
    select
        window_lengths.window_days,
        day_numbers.generated_number - 1 as day_offset

    from ({{ trailing_window_days() }}) as window_lengths
    inner join ({{ dbt.generate_series(trailing_window_lengths() | max) }}) as day_numbers
        on window_lengths.window_days >= day_numbers.generated_number
{%- endmacro %}


{#- Every row of `relation` once per window that holds it: its `columns`, `window_days` and the
    `metric_date` of the window's last day (the event's `date_column` plus the offset). Reads the
    offsets from `offsets`, a relation or CTE of trailing_window_offsets(). -#}
{% macro spread_over_trailing_windows(relation, date_column, columns, offsets='window_offsets') -%}
    select
        {%- for column in columns %}
        {{ relation }}.{{ column }},
        {%- endfor %}
        {{ offsets }}.window_days,
        cast(
            {{ dbt.dateadd('day', offsets ~ '.day_offset', relation ~ '.' ~ date_column) }} as date
        ) as metric_date

    from {{ relation }}
    cross join {{ offsets }}
{%- endmacro %}
