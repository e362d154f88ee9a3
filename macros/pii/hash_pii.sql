{#- Salted SHA-256 hash of a PII column, as a lowercase hex string; null stays null.
    The salt is never written into SQL: on DuckDB the governance dbt plugin puts
    GOVERNANCE_PII_SALT in the session variable `governance_pii_salt`; on Spark it is read
    from the `spark.governance.pii_salt` configuration. -#}
{% macro hash_pii(column_name) -%}
    {{ return(adapter.dispatch('hash_pii', 'marketplace_governance')(column_name)) }}
{%- endmacro %}

{% macro default__hash_pii(column_name) -%}
    {{ exceptions.raise_compiler_error(
        "hash_pii has no implementation for adapter '" ~ adapter.type() ~ "': add one in macros/pii/hash_pii.sql"
    ) }}
{%- endmacro %}

{% macro duckdb__hash_pii(column_name) -%}
    case
        when {{ column_name }} is null then null
        when getvariable('governance_pii_salt') is null
            then error('PII salt is not set on this connection: run dbt through the governance profile (GOVERNANCE_PII_SALT)')
        else sha256(getvariable('governance_pii_salt') || '|' || cast({{ column_name }} as varchar))
    end
{%- endmacro %}

{% macro spark__hash_pii(column_name) -%}
    case
        when {{ column_name }} is null then null
        else sha2(concat('${spark.governance.pii_salt}', '|', cast({{ column_name }} as string)), 256)
    end
{%- endmacro %}
