{#- Validation of the dbt vars that reach SQL: a malformed value stops the run with a message
    naming the var, never reaches the database as text. -#}

{% macro validated_date_var(name, env_name=none) -%}
    {#- Returns the var as a 'YYYY-MM-DD' string of a day that exists (not 2026-02-31), or none
        when it is empty. With env_name, an empty var falls back to that environment variable:
        the nightly run passes its dates that way, because dbt re-parses only the models that
        read a changed environment variable but the whole project when a --vars value changes. -#}
    {%- set text = (var(name, '') or '') | string | trim -%}
    {%- set origin = "dbt var '" ~ name ~ "'" -%}
    {%- if env_name and text == '' -%}
        {%- set text = env_var(env_name, '') | trim -%}
        {%- set origin = "environment variable " ~ env_name -%}
    {%- endif -%}
    {%- if text == '' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if not modules.re.fullmatch('[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])', text) -%}
        {{ exceptions.raise_compiler_error(origin ~ " must be a date written YYYY-MM-DD, got '" ~ text ~ "'") }}
    {%- endif -%}
    {%- set year, month, day = text.split('-') | map('int') | list -%}
    {%- set leap_year = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0 -%}
    {%- set month_days = [31, 29 if leap_year else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] -%}
    {%- if day > month_days[month - 1] -%}
        {{ exceptions.raise_compiler_error(origin ~ " must be a date that exists, got '" ~ text ~ "'") }}
    {%- endif -%}
    {{ return(text) }}
{%- endmacro %}

{#- The dbt var `name` as text, after checking it is a number between `minimum` and `maximum`; stops the run with a one-line error otherwise. -#}
{% macro validated_number_var(name, minimum, maximum) -%}
    {%- set value = var(name) -%}
    {%- set text = value | string | trim -%}
    {%- if not modules.re.fullmatch('-?[0-9]+(\\.[0-9]+)?', text) -%}
        {{ exceptions.raise_compiler_error("dbt var '" ~ name ~ "' must be a number, got '" ~ text ~ "'") }}
    {%- endif -%}
    {%- if (text | float) < minimum or (text | float) > maximum -%}
        {{ exceptions.raise_compiler_error("dbt var '" ~ name ~ "' must be between " ~ minimum ~ " and " ~ maximum ~ ", got " ~ text) }}
    {%- endif -%}
    {{ return(text) }}
{%- endmacro %}
