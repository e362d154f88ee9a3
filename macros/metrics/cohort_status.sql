{#- The two cohort flags of a record-grain fact, from its cohort day `cohort_date` (a SQL
    expression) and `maturity`, a relation or CTE holding the metric's row of
    int_metric_maturity:
    - `is_mature`: the cohort day's outcome window has closed by the reporting date
      (cohort day + maturity_days <= as_of_date);
    - `is_complete`: the cohort day lies inside the coverage of the source the metric counts
      (false when the source has no coverage start).
    A fact whose records are the cohort of several metrics with different windows or sources
    (the order fact) names each metric's pair with `metric_name`: `is_<metric>_mature`,
    `is_<metric>_complete`. -#}
{% macro cohort_status_columns(cohort_date, maturity='maturity', metric_name=none) -%}
    {%- set infix = '_' ~ metric_name if metric_name else '' -%}
    {{ cohort_is_mature(cohort_date, maturity) }} as is{{ infix }}_mature,
    coalesce({{ cohort_date }} >= {{ maturity }}.coverage_start_date, false) as is{{ infix }}_complete
{%- endmacro %}

{#- Whether the outcome window of cohort day `cohort_date` (a SQL expression) has closed by the
    reporting date, from `maturity`, a relation or CTE holding the metric's row of
    int_metric_maturity: cohort day + maturity_days <= as_of_date. A period is mature when its
    last day is. -#}
{% macro cohort_is_mature(cohort_date, maturity='maturity') -%}
    {{ dbt.dateadd('day', maturity ~ '.maturity_days', cohort_date) }} <= {{ maturity }}.as_of_date
{%- endmacro %}
