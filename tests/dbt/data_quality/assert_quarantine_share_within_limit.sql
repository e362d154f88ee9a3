{#- Fails the build when too much of a raw table is quarantined: over the nights from
    var('ingest_date') minus var('lookback_days'), the quarantined share of the table's arriving
    rows is above var('quarantine_max_share') (per table or default) and at least
    var('quarantine_min_rows') rows are quarantined. The error names the table and its most
    common rule. -#}
{%- set limits = quarantine_share_limits() -%}
{%- set min_rows = validated_number_var('quarantine_min_rows', 0, 1000000000) | int -%}
{%- set lookback = lookback_days() -%}

with

dispositions as (

    select * from {{ ref('stg_marketplace__row_dispositions') }}

),

recent_rows as (

    select *
    from dispositions
    where arrived_night >= {{ dbt.dateadd('day', -lookback, ingest_date()) }}

),

table_shares as (

    select
        table_name,
        min(arrived_night) as first_night,
        count(*) as arrived_row_count,
        sum(case when disposition = 'quarantined' then 1 else 0 end) as quarantined_row_count

    from recent_rows
    group by table_name

),

rule_counts as (

    select
        table_name,
        rule_name,
        rule_column,
        count(*) as row_count,
        row_number() over (
            partition by table_name order by count(*) desc, rule_name asc, rule_column asc
        ) as rule_rank

    from recent_rows
    where disposition = 'quarantined'
    group by table_name, rule_name, rule_column

),

limits as (

    {% for table_name, share in limits.items() %}
        select
            '{{ table_name }}' as table_name,
            cast({{ share }} as double) as max_share
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

judged as (

    select
        table_shares.table_name,
        table_shares.first_night,
        table_shares.arrived_row_count,
        table_shares.quarantined_row_count,
        rule_counts.rule_name,
        rule_counts.rule_column,
        rule_counts.row_count as rule_row_count,
        coalesce(table_limit.max_share, default_limit.max_share) as max_share

    from table_shares
    inner join rule_counts
        on
            table_shares.table_name = rule_counts.table_name
            and rule_counts.rule_rank = 1
    left join limits as table_limit
        on table_shares.table_name = table_limit.table_name
    cross join limits as default_limit
    where default_limit.table_name = 'default'

),

breaches as (

    select
        *,
        {{ dbt.concat([
            "'quarantine share above the limit: raw table '''", "table_name",
            "''', '", dbt.cast("quarantined_row_count", dbt.type_string()),
            "' of '", dbt.cast("arrived_row_count", dbt.type_string()),
            "' rows arriving since '", dbt.cast("first_night", dbt.type_string()),
            "' quarantined (limit '", dbt.cast("max_share", dbt.type_string()),
            "', var quarantine_max_share); most common rule '''", "rule_name",
            "''' on column '''", "rule_column",
            "''' ('", dbt.cast("rule_row_count", dbt.type_string()),
            "' rows); see stg_marketplace__quarantine'",
        ]) }} as failure_message

    from judged
    where
        quarantined_row_count >= {{ min_rows }}
        and quarantined_row_count > max_share * arrived_row_count

)

select
    table_name,
    rule_name,
    rule_column,
    quarantined_row_count,
    arrived_row_count,
    {{ raise_data_error('failure_message') }} as failure_message

from breaches
