{#- Validation of the dbt vars that reach SQL: a malformed value stops the run with a message
    naming the var, never reaches the database as text. -#}

{% macro validated_date_var(name) -%}
    {#- Returns the var as a 'YYYY-MM-DD' string, or none when it is empty. -#}
    {%- set value = var(name, '') -%}
    {%- if value is none or (value | string | trim) == '' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set text = value | string | trim -%}
    {%- if not modules.re.fullmatch('[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])', text) -%}
        {{ exceptions.raise_compiler_error("dbt var '" ~ name ~ "' must be a date written YYYY-MM-DD, got '" ~ text ~ "'") }}
    {%- endif -%}
    {{ return(text) }}
{%- endmacro %}

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
