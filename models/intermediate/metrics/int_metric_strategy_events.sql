{#- The numerator members that a detection strategy's own action put there: one row per metric
    and member (listing, seller or appeal) of the action-based metrics whose counting action
    came from a strategy, with that action and its time. A member counted through several
    actions is attributed to the first (earliest, then lowest action id) of them; members first
    counted through a manual action are not here. The root cause of an alert compares a
    strategy's events after its change with what the strategy did before (governance.alerts).

    The metrics and how their members are found come from the metric registry
    (`numerator_actions` and `outcome` in metric_registry.yml):
    - `via: action` (the listing rates, the onboarding rate): the flagged records of the outcome
      model and the first counted action on them within the metric's window (earliest, then
      lowest action id);
    - `via: appeal` (the overturn rate): overturned appeals and the appealed action;
    - `via: metric`: the flagged records and the event of the record of the other metric they
      link to (an order on a violating listing and that listing's counting action).
    `weight` is what the member adds to the numerator: 1, or its amount for a ratio of sums. -#}

{%- set rules = numerator_action_rules() -%}
{%- set outcome_models = [] -%}
{%- for metric_name in rules -%}
    {%- set model = metric_definition(metric_name).outcome.model -%}
    {%- if model not in outcome_models %}{% do outcome_models.append(model) %}{% endif -%}
{%- endfor -%}
{#- Metrics counted through another metric's events come after the metrics they read. -#}
{%- set own_metrics = [] -%}
{%- set linked_metrics = [] -%}
{%- for metric_name, rule in rules.items() -%}
    {%- do (linked_metrics if rule.via == 'metric' else own_metrics).append(metric_name) -%}
{%- endfor -%}

with

{% for model in outcome_models %}
    {{ model }} as (

        select * from {{ ref(model) }}

    ),

{% endfor %}

actions as (

    select * from {{ ref('int_enforcement_actions_resolved') }}

),

{% for metric_name in own_metrics + linked_metrics %}
    {%- set rule = rules[metric_name] %}
    {%- set metric = metric_definition(metric_name) %}
    {%- set outcome = metric.outcome %}
    {%- set records = outcome.model %}
    {%- set weight = records ~ '.' ~ outcome.amount_column if outcome.amount_column else '1' %}
    {%- set started_at = records ~ '.' ~ outcome.started_at_column %}
    {{ metric_name }}_events as (

        select
            '{{ metric_name }}' as metric_name,
            {{ records }}.{{ outcome.date_column }} as metric_date,
            {{ records }}.region,
            {{ records }}.category,
            {{ records }}.{{ outcome.key }} as member_id,
            {%- if rule.via == 'metric' %}
                linked_events.action_id,
                linked_events.strategy_id,
                linked_events.acted_at,
            {%- else %}
                actions.action_id,
                actions.strategy_id,
                actions.acted_at,
            {%- endif %}
            cast({{ weight }} as bigint) as weight,
            {%- if rule.via == 'action' %}
                row_number() over (
                    partition by {{ records }}.{{ outcome.key }}
                    order by actions.acted_at, actions.action_id
                ) as action_rank
            {%- else %}
                1 as action_rank
            {%- endif %}

        from {{ records }}
        {% if rule.via == 'action' %}
            inner join actions
                on
                    {{ records }}.{{ outcome.key }} = actions.target_id
                    and {{ started_at }} <= actions.acted_at
                    and actions.acted_at <= {{ dbt.dateadd('day', metric.window_days, started_at) }}
            where
                {{ records }}.{{ outcome.flag }}
                and {{ counted_action(metric_name, 'actions') }}
                and not actions.is_overturned
        {% elif rule.via == 'appeal' %}
            inner join actions
                on {{ records }}.{{ rule.action_column }} = actions.action_id
            where {{ records }}.{{ outcome.flag }}
        {% else %}
            inner join {{ rule.metric }}_events as linked_events
                on
                    {{ records }}.{{ rule.link_column }} = linked_events.member_id
                    and linked_events.action_rank = 1
            where {{ records }}.{{ outcome.flag }}
        {% endif %}
    ),

{% endfor %}

{%- set event_columns = [
    'metric_name', 'metric_date', 'region', 'category',
    'member_id', 'action_id', 'strategy_id', 'acted_at', 'weight'
] %}

unioned as (

    {%- set event_ctes = [] %}
    {%- for metric_name in own_metrics + linked_metrics %}
        {%- do event_ctes.append(metric_name ~ '_events') %}
    {%- endfor %}
    {{ union_ctes(event_ctes, event_columns + ['action_rank']) }}

)

select
    {{ event_columns | join(',\n    ') }}

from unioned
where
    action_rank = 1
    and strategy_id is not null
