{#- Data coverage: from which day each raw source holds its events. -#}

{#- var('source_coverage_start'): a mapping of source name to 'YYYY-MM-DD', the day a source's
    coverage starts when its first event day is not the right answer (an export whose first
    weeks are partial, say). Returns {source name: date string}; a name outside `known_sources`
    or a malformed date stops the run with a message naming the var. -#}
{% macro source_coverage_overrides(known_sources) -%}
    {%- set raw = var('source_coverage_start', {}) or {} -%}
    {%- if raw is not mapping -%}
        {{ exceptions.raise_compiler_error("dbt var 'source_coverage_start' must be a mapping of source name to a date written YYYY-MM-DD, got '" ~ raw ~ "'") }}
    {%- endif -%}
    {%- set overrides = {} -%}
    {%- for source_name, day in raw.items() -%}
        {%- if source_name not in known_sources -%}
            {{ exceptions.raise_compiler_error("dbt var 'source_coverage_start': '" ~ source_name ~ "' is not an event source; expected one of " ~ (known_sources | join(', '))) }}
        {%- endif -%}
        {%- set text = (day or '') | string | trim -%}
        {%- if not modules.re.fullmatch('[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])', text) -%}
            {{ exceptions.raise_compiler_error("dbt var 'source_coverage_start': the day of '" ~ source_name ~ "' must be a date written YYYY-MM-DD, got '" ~ text ~ "'") }}
        {%- endif -%}
        {%- do overrides.update({source_name: text}) -%}
    {%- endfor -%}
    {{ return(overrides) }}
{%- endmacro %}
