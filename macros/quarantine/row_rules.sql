{#- Row-level data rules of the raw-data contract, used by the staging base models
    (models/staging/marketplace/base). Every raw row gets a disposition: `staged`, `superseded`
    (an older or repeated version of a record whose latest valid version is staged) or
    `quarantined` with the rule it broke and the column concerned. See the `quarantine` doc block. -#}


{#- Rules shared by every raw table, in the order they are checked: the file broke the contract,
    the key is missing, a value does not parse. -#}

{% macro common_row_rules(key_column) -%}
    {{ return([
        {'rule': 'file_breaks_contract', 'column_sql': 'contract_column', 'when': 'contract_column is not null'},
        {'rule': 'null_primary_key', 'column': key_column, 'when': key_column ~ ' is null'},
        {'rule': 'unparseable_value', 'column_sql': 'unparseable_column', 'when': 'unparseable_column is not null'},
    ]) }}
{%- endmacro %}


{#- One `missing_required_value` rule (a dict of rule, column and condition) per column of `columns` that must not be null. -#}
{% macro required_value_rules(columns) -%}
    {%- set rules = [] -%}
    {%- for column in columns -%}
        {%- do rules.append({'rule': 'missing_required_value', 'column': column, 'when': column ~ ' is null'}) -%}
    {%- endfor -%}
    {{ return(rules) }}
{%- endmacro %}


{#- A coded column whose value is not in `codes` (a list) or not in a seed column
    (`seed` = [seed name, code column]). Nulls pass: required_value_rules handles them. -#}

{% macro unknown_code_rule(column, codes=none, seed=none) -%}
    {%- if seed is not none -%}
        {%- set allowed = 'select ' ~ seed[1] ~ ' from ' ~ ref(seed[0]) -%}
    {%- else -%}
        {%- set quoted = [] -%}
        {%- for code in codes -%}{%- do quoted.append("'" ~ code ~ "'") -%}{%- endfor -%}
        {%- set allowed = quoted | join(', ') -%}
    {%- endif -%}
    {{ return({'rule': 'unknown_code', 'column': column, 'when': column ~ ' not in (' ~ allowed ~ ')'}) }}
{%- endmacro %}


{#- Timestamps after the end of the night the row arrived (an event cannot be reported before it
    happens) or before var('marketplace_launch_date'). -#}

{% macro timestamp_rules(columns) -%}
    {%- set launch = validated_date_var('marketplace_launch_date') -%}
    {%- if launch is none -%}
        {{ exceptions.raise_compiler_error("dbt var 'marketplace_launch_date' must be set (YYYY-MM-DD)") }}
    {%- endif -%}
    {%- set rules = [] -%}
    {%- for column in columns -%}
        {%- do rules.append({
            'rule': 'timestamp_in_future',
            'column': column,
            'when': column ~ ' >= ' ~ dbt.dateadd('day', 1, 'arrived_night'),
        }) -%}
        {%- do rules.append({
            'rule': 'timestamp_before_launch',
            'column': column,
            'when': column ~ " < cast('" ~ launch ~ "' as " ~ dbt.type_timestamp() ~ ")",
        }) -%}
    {%- endfor -%}
    {{ return(rules) }}
{%- endmacro %}


{#- The first rule a row breaks, as two columns: quarantine_rule and quarantine_column
    (null when the row breaks none). -#}

{% macro first_broken_rule(rules) -%}
    case
        {%- for r in rules %}
            when {{ r.when }} then '{{ r.rule }}'
        {%- endfor %}
    end as quarantine_rule,
    case
        {%- for r in rules %}
            when {{ r.when }} then {{ r.column_sql if r.column_sql else "'" ~ r.column ~ "'" }}
        {%- endfor %}
    end as quarantine_column
{%- endmacro %}
