{#- Nightly runs of int_metric_counts_daily, incremental on DuckDB by (metric, day). A metric
    whose outcome model is kept by whole days of the metric's cohort date (its `outcome.model`
    incremental, delete+insert by its `outcome.date_column`: the large listing and order facts)
    is re-counted for the days that model wrote since this model's latest build: a build of such
    a model deletes only the days it writes, so those are the only days whose records changed.
    The days that model no longer holds are re-counted too (emptied days, none of whose rows
    were written since). Every other metric (its outcome model a table rebuilt every night: the
    small appeal, random check and onboarding outcomes) is re-counted whole. The pre-hook
    deletes the rows of every day and metric re-counted first, so that a day none of a metric's
    records falls on any more keeps no row. The result is the table a full build gives, as long
    as the outcome models of the first kind were built incrementally too or hold every day
    they held. -#}


{#- Whether `model_name` (a model of this project) is kept by whole days of `day_column` on this
    engine: incremental, delete+insert with `day_column` as its unique key. False while dbt is
    parsing. -#}
{% macro is_kept_by_days_of(model_name, day_column) -%}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- for node in graph.nodes.values()
        if node.resource_type == 'model' and node.name == model_name -%}
        {{ return(
            node.config.materialized == 'incremental'
            and node.config.incremental_strategy == 'delete+insert'
            and node.config.unique_key == day_column
        ) }}
    {%- endfor -%}
    {{ return(false) }}
{%- endmacro %}


{#- The names of the registry's metrics a nightly run of int_metric_counts_daily re-counts by
    day: those whose outcome model is kept by whole days of the metric's cohort date. -#}
{% macro metrics_counted_by_day() -%}
    {%- set names = [] -%}
    {%- for metric in metric_registry()
        if is_kept_by_days_of(metric.outcome.model, metric.outcome.date_column) -%}
        {%- do names.append(metric.name) -%}
    {%- endfor -%}
    {{ return(names) }}
{%- endmacro %}


{#- The days to re-count of each metric counted by day (metric name -> days, as days_of()): the
    days its outcome model wrote since this model's latest build, and the days this model counts
    for the metrics of that outcome model that the model no longer holds (emptied: no row written
    since tells them). Both are read once per outcome model, for all its metrics: a day the model
    no longer holds has none of their records. Read when the run starts, by the model and by its
    pre-hook alike. Only valid inside `{% if is_incremental() %}`. -#}
{% macro metric_days_recounted() -%}
    {%- set recounted_days = {} %}
    {%- set days_by_outcome = {} %}
    {%- set counted_by_day = metrics_counted_by_day() %}
    {%- for metric in metric_registry() if metric.name in counted_by_day %}
        {%- set outcome = metric.outcome %}
        {%- set written = outcome.model ~ '.' ~ outcome.date_column %}
        {%- if written not in days_by_outcome %}
            {%- set metrics_of_outcome = [] %}
            {%- for other in metric_registry() if other.name in counted_by_day
                and other.outcome.model == outcome.model
                and other.outcome.date_column == outcome.date_column %}
                {%- do metrics_of_outcome.append(other.name) %}
            {%- endfor %}
            {%- set written_days = days_of(
                'select outcomes.' ~ outcome.date_column ~ ' as day from ' ~ ref(outcome.model)
                ~ ' as outcomes where ' ~ written_since_latest_build_of_this('outcomes')
            ) %}
            {%- set gone_days = days_of_this_gone_from(
                ref(outcome.model), outcome.date_column, 'metric_date',
                "metric_name in ('" ~ metrics_of_outcome | join("', '") ~ "')"
            ) %}
            {%- do days_by_outcome.update({written: (written_days + gone_days) | unique | sort | list}) %}
        {%- endif %}
        {%- do recounted_days.update({metric.name: days_by_outcome[written]}) %}
    {%- endfor %}
    {{ return(recounted_days) }}
{%- endmacro %}


{#- Pre-hook of int_metric_counts_daily: on an incremental run, deletes the rows of the metrics
    it re-counts whole and those of the days it re-counts of the others (none on a full build):
    a day none of a metric's records falls on any more keeps no count. -#}
{% macro delete_counts_recounted() -%}
    {%- if is_incremental() -%}
        {%- set by_day = metric_days_recounted() -%}
        {%- set whole = metric_registry() | map(attribute='name') | reject('in', by_day) | list -%}
        delete from {{ this }} where
        {%- if whole | length > 0 %} metric_name in ('{{ whole | join("', '") }}'){% else %} false{% endif %}
        {%- for name, days in by_day.items() %}
            or (metric_name = '{{ name }}' and {{ is_one_of_days('metric_date', days) }})
        {%- endfor %}
    {%- endif -%}
{%- endmacro %}
