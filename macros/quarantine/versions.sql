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
