{#- Nightly runs of int_metric_counts_daily, incremental on DuckDB by (metric, day). A metric
    whose outcome model is kept by whole days of the metric's cohort date (its `outcome.model`
    incremental, delete+insert by its `outcome.date_column`: the large listing and order facts)
    is re-counted for the days that model wrote since this model's latest build: a build of such
    a model deletes only the days it writes, so those are the only days whose records changed.
    Every other metric (its outcome model a table rebuilt every night: the small appeal, random
    check and onboarding outcomes) is re-counted whole, its earlier rows deleted first, so that a
    day none of its records falls on any more keeps no row. The result is the table a full build
    gives, as long as the outcome models of the first kind were built incrementally too (after a
    full refresh of one of them alone, refresh this model as well: a day its rebuild no longer
    holds is not among the days it wrote). -#}


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


{#- Pre-hook of int_metric_counts_daily: on an incremental run, deletes the rows of the metrics
    it re-counts whole (none on a full build). -#}
{% macro delete_counts_of_metrics_counted_whole() -%}
    {%- if is_incremental() -%}
        {%- set by_day = metrics_counted_by_day() -%}
        {%- set whole = metric_registry() | map(attribute='name') | reject('in', by_day) | list -%}
        {%- if whole | length > 0 -%}
            delete from {{ this }} where metric_name in ('{{ whole | join("', '") }}')
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
