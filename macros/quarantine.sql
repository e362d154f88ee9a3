{#- Row-level data rules of the raw-data contract, used by the staging base models
    (models/staging/marketplace/base). Every raw row gets a disposition: `staged`, `superseded`
    (an older or repeated version of a record whose latest valid version is staged) or
    `quarantined` with the rule it broke and the column concerned. See the `quarantine` doc block. -#}


{#- Codes the raw contract accepts in coded columns that have no seed. The seeds (regions,
    categories, policies) hold the other code lists. Kept equal to the accepted_values tests of
    the marketplace source (a pytest compares them). -#}
{% macro marketplace_accepted_codes(table_name, column_name) -%}
    {%- set codes = {
        'sellers': {'seller_type': ['individual', 'business']},
        'seller_identity_signals': {
            'signal_type': ['device_id', 'ip_address', 'bank_account', 'address', 'phone'],
        },
        'strategies': {'strategy_type': ['rule', 'model'], 'target_type': ['listing', 'seller']},
        'strategy_changes': {
            'change_type': ['launch', 'threshold_change', 'rollback', 'retire'],
        },
        'strategy_hits': {'target_type': ['listing', 'seller']},
        'enforcement_actions': {
            'target_type': ['listing', 'seller'],
            'action_type': [
                'listing_takedown', 'listing_limit', 'seller_warning', 'seller_suspension',
                'seller_ban',
            ],
        },
        'appeals': {'outcome': ['upheld', 'overturned']},
        'qa_case_checks': {'target_type': ['listing', 'seller'], 'sample_type': ['random', 'flagged']},
        'orders': {'order_status': ['completed', 'cancelled', 'refunded']},
        'complaints': {
            'reason': ['counterfeit', 'not_as_described', 'not_received', 'prohibited_item', 'other'],
        },
    } -%}
    {{ return(codes[table_name][column_name]) }}
{%- endmacro %}


{#- The night this build ingests: var('ingest_date'), else the environment variable
    GOVERNANCE_INGEST_DATE (set by the nightly run), else the day the dbt run started. -#}
{% macro ingest_date() -%}
    {%- set night = validated_date_var('ingest_date', 'GOVERNANCE_INGEST_DATE') -%}
    cast('{{ night or run_started_at.strftime("%Y-%m-%d") }}' as date)
{%- endmacro %}


{#- Lineage of a raw row: the file it came from, its position in the file and the night it
    arrived (the YYYY-MM-DD date in the file name, else the ingest night). On DuckDB the source's
    external_location reads with `filename` and `file_row_number`; on Spark the file metadata
    columns give the same. -#}
{% macro raw_row_lineage() -%}
    {{ return(adapter.dispatch('raw_row_lineage', 'marketplace_governance')()) }}
{%- endmacro %}

{% macro default__raw_row_lineage() -%}
    {{ exceptions.raise_compiler_error(
        "raw_row_lineage has no implementation for adapter '" ~ adapter.type() ~ "': add one in macros/quarantine.sql"
    ) }}
{%- endmacro %}

{% macro duckdb__raw_row_lineage() -%}
    regexp_extract(filename, '[^/\\]+$') as source_file,
    cast(file_row_number as {{ dbt.type_bigint() }}) as file_row_number,
    coalesce(
        try_cast(nullif(regexp_extract(filename, '([0-9]{4}-[0-9]{2}-[0-9]{2})[^/\\]*$', 1), '') as date),
        {{ ingest_date() }}
    ) as arrived_night
{%- endmacro %}

{% macro spark__raw_row_lineage() -%}
    regexp_extract(_metadata.file_name, '[^/]+$', 0) as source_file,
    cast(_metadata.row_index as {{ dbt.type_bigint() }}) as file_row_number,
    coalesce(
        try_cast(nullif(regexp_extract(_metadata.file_name, '([0-9]{4}-[0-9]{2}-[0-9]{2})[^/]*$', 1), '') as date),
        {{ ingest_date() }}
    ) as arrived_night
{%- endmacro %}


{#- Casts a raw value to a contract type, null when it does not parse (dbt.safe_cast is a plain
    cast on DuckDB). -#}
{% macro try_cast_value(column, data_type) -%}
    {{ return(adapter.dispatch('try_cast_value', 'marketplace_governance')(column, data_type)) }}
{%- endmacro %}

{% macro default__try_cast_value(column, data_type) -%}
    {{ dbt.safe_cast(column, data_type) }}
{%- endmacro %}

{% macro duckdb__try_cast_value(column, data_type) -%}
    try_cast({{ column }} as {{ data_type }})
{%- endmacro %}

{% macro spark__try_cast_value(column, data_type) -%}
    try_cast({{ column }} as {{ data_type }})
{%- endmacro %}


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


{#- Rules shared by every raw table, in the order they are checked: the file broke the contract,
    the key is missing, a value does not parse. -#}
{% macro common_row_rules(key_column) -%}
    {{ return([
        {'rule': 'file_breaks_contract', 'column_sql': 'contract_column', 'when': 'contract_column is not null'},
        {'rule': 'null_primary_key', 'column': key_column, 'when': key_column ~ ' is null'},
        {'rule': 'unparseable_value', 'column_sql': 'unparseable_column', 'when': 'unparseable_column is not null'},
    ]) }}
{%- endmacro %}

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


{#- The valid rows that a later valid version of their record supersedes, as
    (source_file, file_row_number): the base model left-joins its rows to this relation. The
    latest version wins: last arrived night, then last file, then last row in the file.

    Most records arrive once and need no ranking, so a full build ranks only the others: a hash
    aggregate over the raw key columns finds the records read more than once (one pass over
    those columns), their rows alone are read again, checked with the same `rules` and ranked.
    The other rows stream through the base model without a window function (10.5M raw orders:
    a window over every row cost 10 s of the model's 23 s of CPU time; the aggregate 1.5 s).
    `record_columns` are the raw contract columns whose values identify a record (default: the
    key column); identity signals name their observation's columns instead of its key, a hash
    of the hashed signal value, so that no hash is computed twice.

    A night (incremental run) ranks its candidate rows directly (`candidates_cte`, with key
    `key_column`): the rows of its new files and the loaded versions of the records they
    re-deliver, a small set. -#}
{% macro superseded_versions(source_relation, candidates_cte, key_column, rules, record_columns=none) -%}
    {%- set record_columns = record_columns or [key_column] -%}
    {%- if is_incremental() %}
    select
        ranked.source_file,
        ranked.file_row_number
    from (
        select
            source_file,
            file_row_number,
            {{ latest_version_first(key_column) }} as version_rank
        from {{ candidates_cte }}
        where quarantine_rule is null
    ) as ranked
    where ranked.version_rank > 1
    {%- else %}
    {%- set table_name = source_relation.identifier %}
    select
        ranked.source_file,
        ranked.file_row_number
    from (
        select
            source_file,
            file_row_number,
            {{ latest_version_first(record_columns | join(', ')) }} as version_rank
        from (
            select
                versions.*,
                {{ first_broken_rule(rules) }}
            from (
                select
                    {{ raw_row_lineage() }},
                    {{ contract_breach_column(table_name) }} as contract_column,
                    {%- for name, contract_type in raw_contract_columns(table_name) %}
                    repeated_rows.{{ name }},
                    {%- endfor %}
                    repeated_rows.unparseable_column
                from {{ typed_raw_rows(source_relation) }} as repeated_rows
                inner join (
                    select {{ record_columns | join(', ') }}
                    from {{ typed_raw_rows(source_relation) }} as raw_keys
                    where
                        {%- for column in record_columns %}
                        {% if not loop.first %}and {% endif %}{{ column }} is not null
                        {%- endfor %}
                    group by {{ record_columns | join(', ') }}
                    having count(*) > 1
                ) as repeated_keys
                    on
                        {%- for column in record_columns %}
                        {% if not loop.first %}and {% endif %}repeated_rows.{{ column }} = repeated_keys.{{ column }}
                        {%- endfor %}
            ) as versions
        ) as checked_versions
        where quarantine_rule is null
    ) as ranked
    where ranked.version_rank > 1
    {%- endif %}
{%- endmacro %}

{#- Rank of a row among the versions of its record (`partition_sql`), 1 = the latest. -#}
{% macro latest_version_first(partition_sql) -%}
    row_number() over (
        partition by {{ partition_sql }}
        order by arrived_night desc, source_file desc, file_row_number desc
    )
{%- endmacro %}


{#- Final disposition of a row, from its row-level rule, whether a later version supersedes it
    (`is_superseded`, see superseded_versions) and the foreign keys of the latest valid version
    (`orphan_rules`: [{column, when}], `when` true if the parent is not staged). Renders
    disposition, rule_name and rule_column. -#}
{% macro row_disposition(orphan_rules, key_column) -%}
    case
        when quarantine_rule is not null then 'quarantined'
        when is_superseded then 'superseded'
        {%- for r in orphan_rules %}
            when {{ r.when }} then 'quarantined'
        {%- endfor %}
        else 'staged'
    end as disposition,
    case
        when quarantine_rule is not null then quarantine_rule
        when is_superseded then 'duplicate_superseded'
        {%- for r in orphan_rules %}
            when {{ r.when }} then 'orphan_foreign_key'
        {%- endfor %}
    end as rule_name,
    case
        when quarantine_rule is not null then quarantine_column
        when is_superseded then '{{ key_column }}'
        {%- for r in orphan_rules %}
            when {{ r.when }} then '{{ r.column }}'
        {%- endfor %}
    end as rule_column
{%- endmacro %}


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


{#- Stops the query with `message_sql` (a SQL string expression) on the rows it is evaluated
    for, so a failing data test prints its reason; adapters without such a function return the
    message and the test fails the usual way. -#}
{% macro raise_data_error(message_sql) -%}
    {{ return(adapter.dispatch('raise_data_error', 'marketplace_governance')(message_sql)) }}
{%- endmacro %}

{% macro spark__raise_data_error(message_sql) -%}
    raise_error({{ message_sql }})
{%- endmacro %}

{% macro default__raise_data_error(message_sql) -%}
    {{ message_sql }}
{%- endmacro %}

{% macro duckdb__raise_data_error(message_sql) -%}
    error({{ message_sql }})
{%- endmacro %}
