{#- Numerator and denominator of every north-star metric per day and segment (region, category),
    before roll-ups and densification. Each branch reads the record-level model that holds that
    metric's definition. Segments may be null when the record's listing or seller is unknown;
    such records still count in the `ALL` roll-ups of metrics_daily. -#}

{%- set metric_sources = [
    {
        'metric_name': 'listing_violation_rate',
        'model': 'int_listing_enforcement_outcomes',
        'date_column': 'created_date',
        'flag': 'is_violation_within_7d',
    },
    {
        'metric_name': 'low_quality_listing_rate',
        'model': 'int_listing_enforcement_outcomes',
        'date_column': 'created_date',
        'flag': 'is_low_quality_within_7d',
    },
    {
        'metric_name': 'bad_seller_onboarding_rate',
        'model': 'int_seller_onboarding_outcomes',
        'date_column': 'onboarded_date',
        'flag': 'is_bad_within_30d',
    },
    {
        'metric_name': 'violation_prevalence',
        'model': 'int_random_listing_checks',
        'date_column': 'checked_date',
        'flag': 'is_violation',
    },
    {
        'metric_name': 'complaint_rate',
        'model': 'int_order_complaint_outcomes',
        'date_column': 'ordered_date',
        'flag': 'has_complaint_within_14d',
    },
    {
        'metric_name': 'appeal_overturn_rate',
        'model': 'int_appeal_resolutions',
        'date_column': 'resolved_date',
        'flag': 'is_overturned',
    },
] -%}

with

{% for source in metric_sources %}
    {{ source.metric_name }} as (

        select
            '{{ source.metric_name }}' as metric_name,
            {{ source.date_column }} as metric_date,
            region,
            category,
            cast(sum(case when {{ source.flag }} then 1 else 0 end) as bigint) as numerator,
            cast(count(*) as bigint) as denominator

        from {{ ref(source.model) }}
        group by {{ source.date_column }}, region, category

    ),

{% endfor %}

unioned as (

    {% for source in metric_sources %}
        select
            metric_name,
            metric_date,
            region,
            category,
            numerator,
            denominator
        from {{ source.metric_name }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select
    metric_name,
    metric_date,
    region,
    category,
    numerator,
    denominator

from unioned
