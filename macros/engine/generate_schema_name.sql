{#- Use custom schema names as they are (staging, intermediate, reference, ...) instead of
    prefixing them with the target schema, so every target has the same layout. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
