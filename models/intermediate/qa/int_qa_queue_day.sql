{#- One row: the day the QA case-check queue is drawn for, var('qa_queue_date') or, when empty,
    the reporting date, with the day's bounds as timestamps. The day never reaches past the
    reporting date's cut-off: a queue day after it is empty. -#}

{%- set queue_date = validated_date_var('qa_queue_date') -%}

with

as_of as (

    select * from {{ ref('int_as_of_date') }}

),

queue_day as (

    select
        {% if queue_date -%}
            cast('{{ queue_date }}' as date)
        {%- else -%}
            as_of_date
        {%- endif %} as queue_date,
        cutoff_at

    from as_of

)

select
    queue_date,
    cast(queue_date as {{ dbt.type_timestamp() }}) as day_start_at,
    least(
        cast({{ dbt.dateadd('day', 1, 'queue_date') }} as {{ dbt.type_timestamp() }}),
        cutoff_at
    ) as day_end_at

from queue_day
