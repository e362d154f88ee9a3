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
    Counts may be integers: the division is done in double precision. -#}
{% macro rate_columns(numerator, denominator) -%}
    {%- set successes = 'cast(' ~ numerator ~ ' as double)' -%}
    cast(
        case when {{ denominator }} > 0 then {{ successes }} / {{ denominator }} end as double
    ) as value,
    cast({{ wilson_bound(successes, denominator, 'lower') }} as double) as ci_lower,
    cast({{ wilson_bound(successes, denominator, 'upper') }} as double) as ci_upper
{%- endmacro %}
