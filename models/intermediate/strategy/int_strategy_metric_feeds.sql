{#- Which north-star metrics each detection strategy can move, derived from the metrics' counting
    rules in the metric registry (`numerator_actions`, as SQL in counted_action(),
    macros/metrics/metric_numerators.sql) and the strategy's target type and policy (the policies seed):
    a listing strategy feeds the listing violation rate or the low-quality listing rate by its
    policy's kind, a seller strategy of a high or critical policy feeds the bad-seller onboarding
    rate, and every strategy feeds the appeal overturn rate through appeals against its actions.
    A metric whose records count because another metric's record does (`via: metric`) is fed by
    the strategies that feed that metric. A metric without counting rules (the complaint rate,
    true violation prevalence: complaints and random checks, which no enforcement action creates)
    is fed by none. Only a change of a strategy that feeds a metric can be named as the cause of
    that metric's move. -#}

{%- set rules = numerator_action_rules() -%}

with

strategies as (

    select * from {{ ref('int_strategy_profiles') }}

),

feeds as (

    {% for metric_name, rule in rules.items() %}
        {#- A `via: metric` metric takes the rule of the metric it links to. #}
        {%- set base_name = rule.metric if rule.via == 'metric' else metric_name %}
        {%- set base_rule = rules[base_name] %}
        select
            strategies.strategy_id,
            '{{ metric_name }}' as metric_name,
            '{{ base_rule.via }}' as feeds_via
        from strategies
        {%- if base_rule.via == 'action' %}
            where {{ counted_action(base_name, 'strategies', with_action_type=false) }}
        {%- endif %}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select
    strategy_id,
    metric_name,
    feeds_via

from feeds
