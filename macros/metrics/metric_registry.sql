{#- The metric registry (metric_registry.yml, the one place a north-star metric is defined) for
    the models. Its data is the macro metric_registry_generated(), which `governance metrics
    generate` writes from the YAML file (dbt 1.11 reads no YAML file of its own); a test fails
    when the two differ. -#}

{#- Every metric of the registry, in its order: a list of mappings with name, label,
    cohort_description, outcome (model, key, date_column, started_at_column, flag,
    amount_column, source), window_days, maturity_days, direction_is_good, target_value, owner,
    unit, count_unit, interval, numerator_actions and cause_delay_var. -#}
{% macro metric_registry() -%}
    {{ return(metric_registry_generated()) }}
{%- endmacro %}

{#- The registry entry of `metric_name`; an unknown name stops the run with a message naming it. -#}
{% macro metric_definition(metric_name) -%}
    {%- for metric in metric_registry() if metric.name == metric_name -%}
        {{ return(metric) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("'" ~ metric_name ~ "' is not a metric of metric_registry.yml; expected one of " ~ (metric_registry() | map(attribute='name') | join(', '))) }}
{%- endmacro %}

{#- Days after the cohort event within which an outcome of `metric_name` counts. -#}
{% macro metric_window_days(metric_name) -%}
    {{ return(metric_definition(metric_name).window_days) }}
{%- endmacro %}

{#- The one outcome window of every metric read from `outcome_model` (a model that computes
    several metrics' flags with one window); metrics that disagree stop the run. -#}
{% macro outcome_model_window_days(outcome_model) -%}
    {%- set windows = [] -%}
    {%- for metric in metric_registry() if metric.outcome.model == outcome_model -%}
        {%- do windows.append(metric.window_days) -%}
    {%- endfor -%}
    {%- if windows | unique | list | length != 1 -%}
        {{ exceptions.raise_compiler_error("metric_registry.yml: the metrics of " ~ outcome_model ~ " must share one window_days, got " ~ (windows | join(', '))) }}
    {%- endif -%}
    {{ return(windows[0]) }}
{%- endmacro %}
