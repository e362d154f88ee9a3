{#- From which day each raw event source covers its events: one row per source with its first
    event day and its coverage start, which is that day unless var('source_coverage_start')
    sets another for the source. A metric cohort whose outcome window starts before the
    coverage start of the events it counts (metric_definitions.outcome_source) is incomplete:
    the events that would put it in the numerator were never exported. -#}

{%- set event_sources = [
    {'source_name': 'sellers', 'model': 'stg_marketplace__sellers', 'event_column': 'onboarded_at'},
    {'source_name': 'listings', 'model': 'stg_marketplace__listings', 'event_column': 'created_at'},
    {'source_name': 'orders', 'model': 'stg_marketplace__orders', 'event_column': 'ordered_at'},
    {'source_name': 'complaints', 'model': 'stg_marketplace__complaints', 'event_column': 'created_at'},
    {'source_name': 'strategy_hits', 'model': 'stg_marketplace__strategy_hits', 'event_column': 'hit_at'},
    {'source_name': 'enforcement_actions', 'model': 'stg_marketplace__enforcement_actions', 'event_column': 'acted_at'},
    {'source_name': 'appeals', 'model': 'stg_marketplace__appeals', 'event_column': 'filed_at'},
    {'source_name': 'qa_case_checks', 'model': 'stg_marketplace__qa_case_checks', 'event_column': 'checked_at'},
] -%}
{%- set overrides = source_coverage_overrides(event_sources | map(attribute='source_name') | list) -%}

with

{% for source in event_sources %}
    {{ source.source_name }} as (

        select
            '{{ source.source_name }}' as source_name,
            cast(min({{ source.event_column }}) as date) as first_event_date

        from {{ ref(source.model) }}

    ),

{% endfor %}

first_events as (

    {% for source in event_sources %}
        select
            source_name,
            first_event_date
        from {{ source.source_name }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

with_overrides as (

    select
        source_name,
        first_event_date,
        {% if overrides -%}
            case source_name
                {%- for source_name, day in overrides.items() %}
                    when '{{ source_name }}' then cast('{{ day }}' as date)
                {%- endfor %}
            end
        {%- else -%}
            cast(null as date)
        {%- endif %} as override_date

    from first_events

)

select
    source_name,
    first_event_date,
    coalesce(override_date, first_event_date) as coverage_start_date,
    override_date is not null as is_overridden

from with_overrides
