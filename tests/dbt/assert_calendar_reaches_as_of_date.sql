{#- The calendar is generated up to var('max_history_days') days long; if the history is longer
    the metric table would silently stop early. This fails instead, naming the var to raise. -#}
select
    as_of.as_of_date,
    'history longer than max_history_days: raise the dbt var max_history_days' as failure_reason,
    max(calendar.calendar_date) as last_calendar_date

from {{ ref('int_as_of_date') }} as as_of
cross join {{ ref('int_calendar_days') }} as calendar
group by as_of.as_of_date
having max(calendar.calendar_date) < as_of.as_of_date
