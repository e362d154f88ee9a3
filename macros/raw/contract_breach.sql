{#- Raw files the contract check rejected (var raw_files_breaking_contract, set by the nightly
    job from governance.contract): {table: {file name: first broken column}}. Returns a CASE
    giving that column for rows of such a file, null otherwise. File and column names are
    validated, so the var never reaches SQL as free text. -#}

{% macro contract_breach_column(table_name) -%}
    {%- set breaches = var('raw_files_breaking_contract', {}) or {} -%}
    {%- if breaches is not mapping -%}
        {{ exceptions.raise_compiler_error("dbt var 'raw_files_breaking_contract' must be a mapping of table name to {file name: column}, got '" ~ breaches ~ "'") }}
    {%- endif -%}
    {%- set files = breaches.get(table_name, {}) or {} -%}
    {%- if files is not mapping -%}
        {{ exceptions.raise_compiler_error("dbt var 'raw_files_breaking_contract' entry for '" ~ table_name ~ "' must be a mapping of file name to column") }}
    {%- endif -%}
    {%- if files | length == 0 -%}
        cast(null as {{ dbt.type_string() }})
    {%- else -%}
        case source_file
            {%- for file_name, column in files.items() %}
                {%- if not modules.re.fullmatch('[A-Za-z0-9][A-Za-z0-9._=-]*[.]parquet', file_name | string) -%}
                    {{ exceptions.raise_compiler_error("dbt var 'raw_files_breaking_contract': '" ~ file_name ~ "' is not a Parquet file name") }}
                {%- endif -%}
                {%- if not modules.re.fullmatch('[a-z_][a-z0-9_]*', column | string) -%}
                    {{ exceptions.raise_compiler_error("dbt var 'raw_files_breaking_contract': '" ~ column ~ "' is not a column name") }}
                {%- endif %}
            when '{{ file_name }}' then '{{ column }}'
            {%- endfor %}
        end
    {%- endif -%}
{%- endmacro %}
