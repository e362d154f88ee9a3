{#- Engine-specific preparation at the start of every run (on-run-start in dbt_project.yml).

    DuckDB needs none: the sources' `external_location` reads the raw Parquet folders and the
    governance dbt plugin hands over the PII salt.

    Spark (dbt-spark) cannot read `external_location`, so the raw Parquet folders of
    GOVERNANCE_RAW_DIR are registered as external tables of schema `marketplace_files`, one per
    source table (`<raw dir>/<table>/*.parquet`, schemas merged across files), each read by the
    source relation, a view `marketplace.<table>`. Dropping such a table leaves its files in
    place. It also refuses to hash PII without a secret salt, and says
    which dbt Python models the run skips. -#}

{% macro prepare_run() -%}
    {{ return(adapter.dispatch('prepare_run', 'marketplace_governance')()) }}
{%- endmacro %}

{% macro default__prepare_run() -%}
{%- endmacro %}

{% macro spark__prepare_run() -%}
    {%- if execute -%}
        {%- do check_spark_pii_salt() -%}
        {%- do register_raw_sources() -%}
        {%- do log_skipped_python_models() -%}
    {%- endif -%}
{%- endmacro %}

{#- Stops a Spark run whose GOVERNANCE_PII_SALT is unset or is the public demo salt; returns nothing. -#}
{% macro check_spark_pii_salt() -%}
    {%- set salt = env_var('GOVERNANCE_PII_SALT', '') -%}
    {%- if salt == '' -%}
        {{ exceptions.raise_compiler_error(
            "GOVERNANCE_PII_SALT is not set: the '" ~ target.name ~ "' target hashes PII with "
            ~ "spark.governance.pii_salt and needs a secret salt (see profiles.yml)."
        ) }}
    {%- elif salt == 'governance-demo-salt' -%}
        {{ exceptions.raise_compiler_error(
            "GOVERNANCE_PII_SALT holds the public demo salt: set a secret salt for the '"
            ~ target.name ~ "' target."
        ) }}
    {%- endif -%}
{%- endmacro %}

{#- Registers every raw table of source `source_name` on Spark as a table over its Parquet folder; returns nothing. -#}
{% macro register_raw_sources(source_name='marketplace') -%}
    {#- One external Parquet table per raw folder in schema `<source schema>_files`, and the
        source relation itself as a view over it that also exposes Spark's file metadata column
        `_metadata` (file name, row index: the raw-row lineage), which `select *` would hide. -#}
    {%- set raw_dir = env_var('GOVERNANCE_RAW_DIR', 'data/raw') | trim -%}
    {%- if "'" in raw_dir or '\\' in raw_dir -%}
        {{ exceptions.raise_compiler_error(
            "GOVERNANCE_RAW_DIR must not contain quotes or backslashes, got: " ~ raw_dir
        ) }}
    {%- endif -%}
    {%- set raw_dir = raw_dir.rstrip('/') -%}
    {%- set schemas = [] -%}
    {%- set tables = [] -%}
    {%- for node in graph.sources.values() | sort(attribute='name') -%}
        {%- if node.source_name == source_name -%}
            {%- do tables.append(node) -%}
            {%- if node.schema not in schemas -%}
                {%- do schemas.append(node.schema) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for schema in schemas -%}
        {%- do run_query('create database if not exists ' ~ schema) -%}
        {%- do run_query('create database if not exists ' ~ schema ~ '_files') -%}
    {%- endfor -%}
    {%- for node in tables -%}
        {%- set files = node.schema ~ '_files.' ~ node.identifier -%}
        {%- do run_query('drop table if exists ' ~ files) -%}
        {%- do run_query(
            'create table ' ~ files ~ " using parquet options (mergeSchema 'true') location '"
            ~ raw_dir ~ '/' ~ node.name ~ "'"
        ) -%}
        {%- do run_query(
            'create or replace view ' ~ node.schema ~ '.' ~ node.identifier
            ~ ' as select *, _metadata from ' ~ files
        ) -%}
    {%- endfor -%}
    {{ log("Registered " ~ (tables | length) ~ " raw Parquet tables of " ~ raw_dir
        ~ " as source '" ~ source_name ~ "'", info=true) }}
{%- endmacro %}

{#- Logs which dbt Python models (and the models built on them) var `spark_skipped_models` switches off on this target; returns nothing. -#}
{% macro log_skipped_python_models() -%}
    {%- set skipped = var('spark_skipped_models', {}) -%}
    {%- set python_models = skipped.get('python', []) -%}
    {%- set built_on_python = skipped.get('built_on_python', []) -%}
    {%- if python_models -%}
        {{ log(
            "Skipping the dbt Python models " ~ (python_models | join(', '))
            ~ (" and the models built on them (" ~ (built_on_python | join(', ')) ~ ")"
               if built_on_python else "")
            ~ " on the '" ~ target.name ~ "' target: dbt-spark's session method cannot run dbt "
            ~ "Python models (they run on DuckDB, and on Databricks, Snowflake or BigQuery; "
            ~ "see the README, 'Spark').",
            info=true
        ) }}
    {%- endif -%}
{%- endmacro %}
