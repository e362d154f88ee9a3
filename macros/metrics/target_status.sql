{#- A rate's status against its target, from the value, its 95% interval and the direction that
    is an improvement (`down` or `up`, the metric registry's `direction_is_good`):
    - `on_target`: the value is at the target or on its good side;
    - `off_target`: the value is on the bad side and its interval excludes the target, so the
      miss is more than chance;
    - `near_target`: the value is on the bad side but its interval still reaches the target.
    Null when the value or the target is null. -#}
{% macro target_status(value, ci_lower, ci_upper, target, direction) -%}
    case
        when {{ value }} is null or {{ target }} is null then null
        when
            ({{ direction }} = 'down' and {{ value }} <= {{ target }})
            or ({{ direction }} = 'up' and {{ value }} >= {{ target }})
            then 'on_target'
        when
            ({{ direction }} = 'down' and {{ ci_lower }} > {{ target }})
            or ({{ direction }} = 'up' and {{ ci_upper }} < {{ target }})
            then 'off_target'
        else 'near_target'
    end
{%- endmacro %}
