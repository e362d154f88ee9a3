{#- Shares and counts of var('quarantine_max_share') / var('quarantine_min_rows'). The share is
    a number, or a mapping of raw table name to number with an optional `default`. Returns
    {'default': share, '<table>': share, ...} with every value validated. -#}

{% macro quarantine_share_limits() -%}
    {%- set raw = var('quarantine_max_share') -%}
    {%- set limits = {} -%}
    {%- set entries = raw.items() if raw is mapping else [('default', raw)] -%}
    {%- for table_name, share in entries -%}
        {%- if not modules.re.fullmatch('[a-z_]+', table_name | string) -%}
            {{ exceptions.raise_compiler_error("dbt var 'quarantine_max_share': '" ~ table_name ~ "' is not a table name") }}
        {%- endif -%}
        {%- set text = share | string | trim -%}
        {%- if not modules.re.fullmatch('[0-9]+([.][0-9]+)?', text) or (text | float) > 1.0 -%}
            {{ exceptions.raise_compiler_error("dbt var 'quarantine_max_share' must be a share between 0 and 1 (or a mapping of table to share), got '" ~ text ~ "' for '" ~ table_name ~ "'") }}
        {%- endif -%}
        {%- do limits.update({table_name: text}) -%}
    {%- endfor -%}
    {%- if 'default' not in limits -%}
        {%- do limits.update({'default': '0.05'}) -%}
    {%- endif -%}
    {{ return(limits) }}
{%- endmacro %}
