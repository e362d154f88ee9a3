{#- The MetricFlow time spine: one row per day from 2000-01-01 to 2050-12-31, wide enough for any
    history the warehouse holds. MetricFlow uses it for time granularities and offsets; nothing
    here depends on the data. -#}

with

days as (

    {{ dbt.date_spine('day', "cast('2000-01-01' as date)", "cast('2051-01-01' as date)") }}

)

select cast(date_day as date) as date_day
from days
