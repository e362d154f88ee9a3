{#- Which north-star metrics each detection strategy can move, derived from the metrics'
    counting rules (counted_action() in macros/metrics/metric_numerators.sql) and the strategy's target
    type and policy (the policies seed): a listing strategy feeds the listing violation rate or
    the low-quality listing rate by its policy's kind, a seller strategy of a high or critical
    policy feeds the bad-seller onboarding rate, and every strategy feeds the appeal overturn
    rate through appeals against its actions. No strategy feeds the complaint rate or true
    violation prevalence: their numerators count complaints and random checks, which no
    enforcement action creates. Only a change of a strategy that feeds a metric can be named
    as the cause of that metric's move. -#}

{%- set rules = numerator_action_rules() -%}

with

strategies as (

    select * from {{ ref('int_strategy_profiles') }}

),

feeds as (

    {% for metric_name, rule in rules.items() %}
        select
            strategies.strategy_id,
            '{{ metric_name }}' as metric_name,
            '{{ rule.via }}' as feeds_via
        from strategies
        {%- if rule.via == 'action' %}
            where {{ counted_action(metric_name, 'strategies', with_action_type=false) }}
        {%- endif %}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select
    strategy_id,
    metric_name,
    feeds_via

from feeds
