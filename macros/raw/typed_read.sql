{#- The one typed read of the raw Parquet files, shared by the staging base models and by the
    tests on the raw sources (through get_where_subquery, macros/tests/tested_rows.sql), so both
    see the same values.

    Every contract column comes out in its contract type (the `data_type` of the source's
    columns in _marketplace__sources.yml), with the row's lineage columns and
    `unparseable_column`: the first contract column whose raw value is set but could not be
    read as its type (the quarantine rule `unparseable_value`). A file whose column has another
    physical type than the contract's (`gmv_usd` written as text, `created_at` as int64 epoch
    numbers) is therefore read value by value and never stops the build, and a column missing
    from a file reads as null (the night's pre-check quarantines such files whole).

    Time zones: a time-zone-aware timestamp column is converted to UTC explicitly; a naive one
    is taken as UTC, as the contract says; a text timestamp with an offset is converted to UTC,
    one without is taken as UTC. No step depends on the host's or the session's time zone (the
    profiles also pin the DuckDB session to UTC). -#}


{#- The contract columns of raw table `table_name`: a list of [column name, contract type]. -#}
{% macro raw_contract_columns(table_name, source_name='marketplace') -%}
    {%- set columns = [] -%}
    {%- for node in graph.get('sources', {}).values() -%}
        {%- if node.source_name == source_name and node.name == table_name -%}
            {%- for column in node.columns.values() -%}
                {%- do columns.append([column.name, (column.data_type or 'varchar') | lower]) -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(columns) }}
{%- endmacro %}


{#- The adapter's type for a contract type. -#}
{% macro raw_contract_type(contract_type) -%}
    {%- set types = {
        'varchar': dbt.type_string(),
        'timestamp': dbt.type_timestamp(),
        'double': 'double',
        'integer': dbt.type_int(),
        'boolean': dbt.type_boolean(),
    } -%}
    {%- if contract_type not in types -%}
        {{ exceptions.raise_compiler_error("raw-data contract type '" ~ contract_type ~ "' has no reading rule: add it to macros/raw/typed_read.sql") }}
    {%- endif -%}
    {{ return(types[contract_type]) }}
{%- endmacro %}


{#- The raw rows of a source relation, typed: a parenthesised subquery (no alias). On an
    incremental run of a base model, only the files that model has not loaded yet. -#}
{% macro typed_raw_rows(relation) -%}
    {{ return(adapter.dispatch('typed_raw_rows', 'marketplace_governance')(relation)) }}
{%- endmacro %}

{#- Engines whose source relation already merges the files' schemas (Spark): each value cast to
    its contract type, null when it does not parse. -#}
{% macro default__typed_raw_rows(relation) -%}
    {%- set columns = raw_contract_columns(relation.identifier) -%}
    (
        select
            _metadata,
            {%- for name, contract_type in columns %}
            {{ try_cast_value(name, raw_contract_type(contract_type)) }} as {{ name }},
            {%- endfor %}
            case
                {%- for name, contract_type in columns if contract_type != 'varchar' %}
                when {{ name }} is not null and {{ try_cast_value(name, raw_contract_type(contract_type)) }} is null
                    then '{{ name }}'
                {%- endfor %}
            end as unparseable_column
        from {{ relation }}
    )
{%- endmacro %}

{#- DuckDB: the files are grouped by the physical types of their contract columns (DuckDB's
    `parquet_schema`, footers only), each group read by one read_parquet with the conversion its
    types need, and the groups stacked. Files whose types are the contract's, nearly always all
    of them, form one group read as before. -#}
{% macro duckdb__typed_raw_rows(relation) -%}
    {%- set table_name = relation.identifier -%}
    {%- set columns = raw_contract_columns(table_name) -%}
    {%- if not execute -%}
        {{ return('(select * from ' ~ relation ~ ')') }}
    {%- endif -%}
    {%- if is_incremental() -%}
        {%- set files = unloaded_raw_files(table_name) -%}
    {%- else -%}
        {%- set files = raw_files(relation) -%}
    {%- endif -%}
    {%- set groups = {} -%}
    {%- if files | length > 0 -%}
        {%- set types = {} -%}
        {%- for file_name, column, duckdb_type in run_query(
            "select file_name, name, duckdb_type from parquet_schema(" ~ raw_file_list(files) ~ ")"
            ~ " where duckdb_type is not null"
        ) -%}
            {%- do types.update({file_name ~ '|' ~ column: duckdb_type}) -%}
        {%- endfor -%}
        {%- for file_name in files -%}
            {%- set kinds = [] -%}
            {%- for name, contract_type in columns -%}
                {%- do kinds.append(raw_read_kind(types.get(file_name ~ '|' ~ name), contract_type)) -%}
            {%- endfor -%}
            {%- set signature = kinds | join(',') -%}
            {%- if signature not in groups -%}
                {%- do groups.update({signature: {'kinds': kinds, 'files': []}}) -%}
            {%- endif -%}
            {%- do groups[signature]['files'].append(file_name) -%}
        {%- endfor -%}
    {%- endif -%}
    (
    {%- for signature in groups | sort %}
        {%- set group = groups[signature] %}
        {%- if not loop.first %}

        union all
        {% endif %}
        select
            filename,
            file_row_number,
            {%- for name, contract_type in columns %}
            {{ raw_read_value(name, contract_type, group.kinds[loop.index0]) }} as {{ name }},
            {%- endfor %}
            {{ raw_unparseable_column(columns, group.kinds) }} as unparseable_column
        from read_parquet(
            {{ raw_file_list(group.files) }},
            union_by_name = true, filename = true, file_row_number = true
        )
    {%- else %}
        select
            cast(null as varchar) as filename,
            cast(null as bigint) as file_row_number,
            {%- for name, contract_type in columns %}
            cast(null as {{ raw_contract_type(contract_type) }}) as {{ name }},
            {%- endfor %}
            cast(null as varchar) as unparseable_column
        where false
    {%- endfor %}
    )
{%- endmacro %}


{#- How a column of physical type `duckdb_type` (none: the file lacks it) is read as
    `contract_type`: 'absent' (null), 'cast' (the types agree: a lossless cast), 'utc' (a
    time-zone-aware timestamp, converted to UTC) or 'parse' (any other type: value by value,
    null and unparseable_value when it does not convert). -#}
{% macro raw_read_kind(duckdb_type, contract_type) -%}
    {%- set exact = {
        'varchar': none,
        'timestamp': ['TIMESTAMP', 'TIMESTAMP_NS', 'TIMESTAMP_MS', 'TIMESTAMP_S', 'DATE'],
        'double': [
            'DOUBLE', 'FLOAT', 'TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'UTINYINT',
            'USMALLINT', 'UINTEGER', 'UBIGINT',
        ],
        'integer': ['TINYINT', 'SMALLINT', 'INTEGER', 'UTINYINT', 'USMALLINT'],
        'boolean': ['BOOLEAN'],
    } -%}
    {%- if duckdb_type is none -%}
        {{ return('absent') }}
    {%- elif contract_type == 'varchar' -%}
        {{ return('cast') }}
    {%- elif contract_type == 'timestamp' and duckdb_type == 'TIMESTAMP WITH TIME ZONE' -%}
        {{ return('utc') }}
    {%- elif duckdb_type in exact.get(contract_type, []) -%}
        {{ return('cast') }}
    {%- elif contract_type == 'double' and duckdb_type.startswith('DECIMAL') -%}
        {{ return('cast') }}
    {%- else -%}
        {{ return('parse') }}
    {%- endif -%}
{%- endmacro %}

{#- The SQL expression reading raw column `name` as its contract type: a cast, a conversion to UTC or a parse whose failure gives null (`kind` from raw_read_kind). -#}
{% macro raw_read_value(name, contract_type, kind) -%}
    {%- set data_type = raw_contract_type(contract_type) -%}
    {%- if kind == 'absent' -%}
        cast(null as {{ data_type }})
    {%- elif kind == 'cast' -%}
        cast({{ name }} as {{ data_type }})
    {%- elif kind == 'utc' -%}
        timezone('UTC', {{ name }})
    {%- elif contract_type == 'timestamp' -%}
        case
            when regexp_matches(cast({{ name }} as varchar), '{{ raw_utc_offset_pattern() }}')
                then timezone('UTC', try_cast({{ name }} as timestamptz))
            else try_cast({{ name }} as timestamp)
        end
    {%- else -%}
        try_cast({{ name }} as {{ data_type }})
    {%- endif -%}
{%- endmacro %}

{#- A text timestamp that ends with a UTC offset (or Z) after its time of day. -#}
{% macro raw_utc_offset_pattern() -%}
    [0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)? ?(Z|[+-][0-9]{2}(:?[0-9]{2})?)$
{%- endmacro %}

{#- The first column read value by value ('parse') whose value is set and did not convert. -#}
{% macro raw_unparseable_column(columns, kinds) -%}
    {%- set parsed = [] -%}
    {%- for name, contract_type in columns -%}
        {%- if kinds[loop.index0] == 'parse' -%}
            {%- do parsed.append([name, contract_type]) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if parsed | length == 0 -%}
        cast(null as varchar)
    {%- else -%}
        case
            {%- for name, contract_type in parsed %}
            when {{ name }} is not null and {{ raw_read_value(name, contract_type, 'parse') }} is null
                then '{{ name }}'
            {%- endfor %}
        end
    {%- endif -%}
{%- endmacro %}


{#- The glob of a DuckDB source relation: its external_location reads
    `read_parquet('<folder>/*.parquet', ...)`. -#}
{% macro raw_files_pattern(relation) -%}
    {%- set relation_sql = relation | string -%}
    {%- set found = modules.re.search("read_parquet\\(\\s*'([^']+)'", relation_sql) -%}
    {%- if not found -%}
        {{ exceptions.raise_compiler_error("source " ~ relation.identifier ~ " does not read a read_parquet('<folder>/*.parquet') pattern (" ~ relation_sql ~ ")") }}
    {%- endif -%}
    {{ return(found.group(1)) }}
{%- endmacro %}

{#- The files of a DuckDB source relation, sorted (none found: an empty list, and an empty
    table; the night's pre-check and `governance build` stop before dbt on an empty folder). -#}
{% macro raw_files(relation) -%}
    {%- set found = run_query(
        "select file from glob('" ~ (raw_files_pattern(relation) | replace("'", "''")) ~ "') order by file"
    ) -%}
    {{ return(found.columns[0].values() | list) }}
{%- endmacro %}

{#- The SQL list literal of the file paths `files`, each quoted. -#}
{% macro raw_file_list(files) -%}
    {%- set quoted = [] -%}
    {%- for path in files -%}
        {%- do quoted.append("'" ~ (path | replace("'", "''")) ~ "'") -%}
    {%- endfor -%}
    [{{ quoted | join(', ') }}]
{%- endmacro %}
