{#- One row per day from the first day any metric has data to the reporting date. -#}

{%- set max_days = validated_number_var('max_history_days', 1, 100000) | int -%}

with

metric_counts as (

    select metric_date from {{ ref('int_metric_counts_daily') }}

),

as_of as (

    select * from {{ ref('int_as_of_date') }}

),

bounds as (

    select
        min(metric_counts.metric_date) as first_date,
        max(as_of.as_of_date) as last_date

    from metric_counts
    cross join as_of

),

day_numbers as (

    {{ dbt.generate_series(max_days) }}

),

days as (

    select
        cast({{ dbt.dateadd('day', 'day_numbers.generated_number - 1', 'bounds.first_date') }} as date)
            as calendar_date,
        bounds.last_date

    from bounds
    cross join day_numbers

)

select calendar_date
from days
where calendar_date <= last_date
