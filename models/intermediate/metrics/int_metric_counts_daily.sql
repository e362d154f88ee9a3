{#- Numerator and denominator of every north-star metric of the metric registry per day and
    segment (region, category), before roll-ups and densification. Each branch reads the
    record-level outcome model that holds that metric's definition (its `outcome` in
    metric_registry.yml): the denominator counts its records of the day, or sums their amount for
    a ratio of sums; the numerator counts (sums) those whose flag is true. The sum of squared
    amounts (the record count for a count metric) gives the interval of a ratio of sums; for a
    metric whose records share their outcome in clusters (`outcome.cluster_column`), the squares
    are of the clusters' amounts.
    Segments may be null when the record's listing or seller is unknown; such records still count
    in the `ALL` roll-ups of metrics_daily. -#}

{#- Incremental on DuckDB (nightly runs) by (metric, day): a metric whose outcome model is kept by
    whole days of its cohort date is re-counted for the days that model wrote since this model's
    latest build or no longer holds; the others, small, are re-counted whole; the pre-hook deletes
    what is re-counted first (macros/incremental/metric_count_days.sql).
    Every row carries the start of the build that counted it (`processed_at`). -#}
{{ config(
    pre_hook="{{ delete_counts_recounted() }}",
    **incremental_by_key(['metric_name', 'metric_date'])
) }}

{#- The days to re-count of each metric counted by day, read when the run starts. #}
{%- set recounted_days = metric_days_recounted() if is_incremental() else {} %}

{#- Squares of amounts overflow a bigint long before their sums do: a 38-digit decimal, exact on
    every engine. -#}
{%- set sum_squares_type = 'decimal(38, 0)' -%}

with

{% for metric in metric_registry() %}
    {%- set outcome = metric.outcome %}
    {%- set amount = outcome.amount_column or '1' %}
    {#- The records counted: on a night, those of the days to re-count (all when counted whole). #}
    {%- set records_counted = ref(outcome.model) ~ (
        ' where ' ~ is_one_of_days(outcome.date_column, recounted_days[metric.name])
        if metric.name in recounted_days else ''
    ) %}
    {%- if outcome.cluster_column %}
        {#- Records that share their outcome (orders on one listing) count as one unit of the
            interval: the sum of squares is over the units' amounts. A record without a cluster is
            a unit of its own. #}
        {{ metric.name }}_units as (

            select
                {{ outcome.date_column }} as metric_date,
                region,
                category,
                sum(case when {{ outcome.flag }} then {{ amount }} else 0 end) as numerator,
                sum({{ amount }}) as denominator

            from {{ records_counted }}
            group by
                {{ outcome.date_column }},
                region,
                category,
                {{ outcome.cluster_column }},
                case when {{ outcome.cluster_column }} is null then {{ outcome.key }} end

        ),

        {{ metric.name }} as (

            select
                '{{ metric.name }}' as metric_name,
                metric_date,
                region,
                category,
                cast(sum(numerator) as bigint) as numerator,
                cast(sum(denominator) as bigint) as denominator,
                cast(
                    sum(cast(denominator as {{ sum_squares_type }}) * denominator) as {{ sum_squares_type }}
                ) as denominator_sum_squares

            from {{ metric.name }}_units
            group by metric_date, region, category

        ),
    {%- else %}
        {{ metric.name }} as (

            select
                '{{ metric.name }}' as metric_name,
                {{ outcome.date_column }} as metric_date,
                region,
                category,
                {% if outcome.amount_column -%}
                    cast(sum(case when {{ outcome.flag }} then {{ amount }} else 0 end) as bigint) as numerator,
                    cast(sum({{ amount }}) as bigint) as denominator,
                    cast(
                        sum(cast({{ amount }} as {{ sum_squares_type }}) * {{ amount }}) as {{ sum_squares_type }}
                    ) as denominator_sum_squares
                {%- else -%}
                    cast(sum(case when {{ outcome.flag }} then 1 else 0 end) as bigint) as numerator,
                    cast(count(*) as bigint) as denominator,
                    cast(count(*) as {{ sum_squares_type }}) as denominator_sum_squares
                {%- endif %}

            from {{ records_counted }}
            group by {{ outcome.date_column }}, region, category

        ),
    {%- endif %}

{% endfor %}

{%- set count_columns = [
    'metric_name', 'metric_date', 'region', 'category',
    'numerator', 'denominator', 'denominator_sum_squares'
] %}

unioned as (

    {{ union_ctes(metric_registry() | map(attribute='name') | list, count_columns) }}

)

select
    {{ count_columns | join(',\n    ') }},
    {{ build_started_at() }} as processed_at

from unioned
