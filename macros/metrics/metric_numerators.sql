{#- Which enforcement actions put a cohort member in a metric's numerator: the counting rules of
    the metric registry (`numerator_actions` in metric_registry.yml) as SQL. The outcome facts
    (int_listing_enforcement_outcomes, int_seller_onboarding_outcomes) and the strategy events
    behind them (int_metric_strategy_events) count an action with counted_action(); the
    strategy-to-metric mapping (int_strategy_metric_feeds) applies the same rules to a
    strategy's target type and policy, whose attributes come from the policies seed. -#}

{#- metric name -> rule, for the metrics whose numerator enforcement actions fill, from the
    metric registry (`numerator_actions`). `via: action`: the metric counts the rule's actions
    themselves (target type, action types, and the policy's kind or severity); `via: appeal`: it
    counts the appeals against any action, whatever its strategy; `via: metric`: its records are
    in the numerator because the record of another metric they link to is (that metric's rule
    applies). -#}
{% macro numerator_action_rules() -%}
    {%- set rules = {} -%}
    {%- for metric in metric_registry() if metric.numerator_actions -%}
        {%- do rules.update({metric.name: metric.numerator_actions}) -%}
    {%- endfor -%}
    {{ return(rules) }}
{%- endmacro %}

{#- A boolean SQL expression: the row of `relation` (with target_type, policy_is_low_quality,
    policy_severity and, unless with_action_type is false, action_type) is an action that counts
    in the numerator of `metric_name`. Without the action type it says whether a strategy of
    that target type and policy can produce such actions. Whether the action was overturned is
    the caller's to check. -#}
{% macro counted_action(metric_name, relation, with_action_type=true) -%}
    {%- set rule = numerator_action_rules().get(metric_name, {'via': none}) -%}
    {%- if rule.via != 'action' -%}
        {{ exceptions.raise_compiler_error("counted_action: " ~ metric_name ~ " does not count actions of its own") }}
    {%- endif -%}
    ({{ relation }}.target_type = '{{ rule.target_type }}'
    {%- if with_action_type %}
        and {{ relation }}.action_type in ('{{ rule.action_types | join("', '") }}')
    {%- endif %}
    {%- if rule.low_quality is defined %}
        and {% if not rule.low_quality %}not {% endif %}{{ relation }}.policy_is_low_quality
    {%- endif %}
    {%- if rule.severities is defined %}
        and {{ relation }}.policy_severity in ('{{ rule.severities | join("', '") }}')
    {%- endif %})
{%- endmacro %}
