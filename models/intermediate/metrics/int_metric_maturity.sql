{#- When a north-star metric's cohort days are mature and complete, as of the reporting date: one
    row per metric with its maturity window (metric_definitions.maturity_days), the reporting
    date and the first day the data covers the source whose events the metric counts. The
    record-grain facts (marts/semantic) flag each record's cohort day from it with
    cohort_status_columns(). -#}

with

metric_definitions as (

    select * from {{ ref('metric_definitions') }}

),

as_of as (

    select * from {{ ref('int_as_of_date') }}

),

source_coverage as (

    select * from {{ ref('int_source_coverage') }}

),

final as (

    select
        metric_definitions.metric_name,
        metric_definitions.maturity_days,
        as_of.as_of_date,
        source_coverage.coverage_start_date

    from metric_definitions
    left join source_coverage
        on metric_definitions.outcome_source = source_coverage.source_name
    cross join as_of

)

select
    metric_name,
    maturity_days,
    as_of_date,
    coverage_start_date

from final
