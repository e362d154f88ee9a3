{#- One row per raw row of every marketplace table: where it came from, the night it arrived and
    what staging did with it (staged, superseded or quarantined, with the rule). The ledger behind
    the reconciliation and the data-quality marts. -#}

{%- set raw_tables = marketplace_raw_tables() -%}

with

{% for table_name in raw_tables %}
    {{ table_name }} as (

        select
            '{{ table_name }}' as table_name,
            record_key,
            arrived_night,
            source_file,
            file_row_number,
            disposition,
            rule_name,
            rule_column

        from {{ ref('base_marketplace__' ~ table_name) }}

    ),

{% endfor %}

unioned as (

    {% for table_name in raw_tables %}
        select
            table_name,
            record_key,
            arrived_night,
            source_file,
            file_row_number,
            disposition,
            rule_name,
            rule_column
        from {{ table_name }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select
    table_name,
    record_key,
    arrived_night,
    source_file,
    file_row_number,
    disposition,
    rule_name,
    rule_column

from unioned
