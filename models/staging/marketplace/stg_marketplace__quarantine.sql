{#- The quarantine: every raw row staging held back, with its table, key, the rule it broke, the
    column concerned and the night it arrived. Nothing is dropped silently: each raw row is staged,
    superseded by a later version or listed here. -#}

with

dispositions as (

    select * from {{ ref('stg_marketplace__row_dispositions') }}

)

select
    table_name,
    record_key,
    rule_name,
    rule_column,
    arrived_night,
    source_file,
    file_row_number

from dispositions
where disposition = 'quarantined'
