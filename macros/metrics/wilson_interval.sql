{#- Wilson score interval for a binomial proportion `successes / trials` at z = var('wilson_z').
    Returns null when trials is 0 or null; exactly 0 (lower)
    or 1 (upper) at the edges and clamped to [0, 1] against rounding. -#}
{% macro wilson_bound(successes, trials, side) -%}
    {%- set z = validated_number_var('wilson_z', 0.0, 10.0) -%}
    {%- set sign = '-' if side == 'lower' else '+' -%}
    {%- set clamp = 'greatest(0.0, ' if side == 'lower' else 'least(1.0, ' -%}
    case
        when coalesce({{ trials }}, 0) = 0 then null
        {% if side == 'lower' -%}
        when ({{ successes }}) = 0 then 0.0
        {%- else -%}
        when ({{ successes }}) = ({{ trials }}) then 1.0
        {%- endif %}
        else {{ clamp }}(
            ({{ successes }}) / ({{ trials }})
            + {{ z }} * {{ z }} / (2.0 * ({{ trials }}))
            {{ sign }} {{ z }} * sqrt(
                (({{ successes }}) / ({{ trials }})) * (1.0 - ({{ successes }}) / ({{ trials }})) / ({{ trials }})
                + {{ z }} * {{ z }} / (4.0 * ({{ trials }}) * ({{ trials }}))
            )
        ) / (1.0 + {{ z }} * {{ z }} / ({{ trials }})))
    end
{%- endmacro %}

{#- The three columns of a published rate from its counts: `value` (numerator / denominator,
    null when the denominator is 0) and its Wilson bounds `ci_lower` and `ci_upper`, as doubles.
    Counts may be integers: the division is done in double precision. The bounds are those of
    the effective counts when given (effective_counts()), else of the counts themselves. -#}
{% macro rate_columns(numerator, denominator, effective_numerator=none, effective_denominator=none) -%}
    {%- set successes = 'cast(' ~ numerator ~ ' as double)' -%}
    {%- set trial_successes = effective_numerator or successes -%}
    {%- set trials = effective_denominator or denominator -%}
    cast(
        case when {{ denominator }} > 0 then {{ successes }} / {{ denominator }} end as double
    ) as value,
    cast({{ wilson_bound(trial_successes, trials, 'lower') }} as double) as ci_lower,
    cast({{ wilson_bound(trial_successes, trials, 'upper') }} as double) as ci_upper
{%- endmacro %}

{#- The counts a rate's interval and the anomaly detector treat as binomial, as two double
    columns `effective_numerator` and `effective_denominator`, by the metric's interval method
    (metric_registry.yml, `interval`; the SQL expression `method`):
    - `wilson`: a count of records, the numerator and denominator themselves;
    - `wilson_kish`: a ratio of sums of record amounts x_i, the Kish effective sample size
      n_eff = (sum x_i)^2 / sum x_i^2 (`sum_squares`) and p * n_eff with p = numerator /
      denominator: n_eff equal records carry as much information as the unequal ones.
    0 of 0 when nothing was counted. -#}
{% macro effective_counts(numerator, denominator, sum_squares, method) -%}
    cast(
        case
            when {{ method }} = 'wilson_kish' and {{ sum_squares }} > 0
                then cast({{ numerator }} as double) * {{ denominator }} / {{ sum_squares }}
            else cast({{ numerator }} as double)
        end as double
    ) as effective_numerator,
    cast(
        case
            when {{ method }} = 'wilson_kish' and {{ sum_squares }} > 0
                then cast({{ denominator }} as double) * {{ denominator }} / {{ sum_squares }}
            else cast({{ denominator }} as double)
        end as double
    ) as effective_denominator
{%- endmacro %}
