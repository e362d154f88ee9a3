{#- Every raw strategy-change row, typed, with its disposition (see the quarantine doc). -#}
{%- set rules = common_row_rules('change_id')
    + required_value_rules(['strategy_id', 'changed_at', 'change_type'])
    + [
        unknown_code_rule(
            'change_type', codes=marketplace_accepted_codes('strategy_changes', 'change_type')
        ),
    ]
    + timestamp_rules(['changed_at']) -%}

with

source as (

    select * from {{ typed_raw_rows(source('marketplace', 'strategy_changes')) }}

),

staged_strategies as (

    select strategy_id from {{ ref('base_marketplace__strategies') }}
    where disposition = 'staged'

),

typed as (

    select
        {{ raw_row_lineage() }},
        {{ contract_breach_column('strategy_changes') }} as contract_column,
        unparseable_column,
        cast(change_id as {{ dbt.type_string() }}) as change_id,
        cast(strategy_id as {{ dbt.type_string() }}) as strategy_id,
        changed_at,
        cast(change_type as {{ dbt.type_string() }}) as change_type,
        cast(description as {{ dbt.type_string() }}) as change_description

    from source

),

checked as (

    select
        *,
        {{ first_broken_rule(rules) }}

    from typed

),

candidates as (

    {{ rows_to_version('checked', 'change_id', [
        'change_id',
        'strategy_id',
        'changed_at',
        'change_type',
        'change_description',
    ]) }}

),

superseded as (

    {{ superseded_versions(source('marketplace', 'strategy_changes'), 'candidates', 'change_id', rules) }}

),

versioned as (

    select
        candidates.*,
        superseded.source_file is not null as is_superseded

    from candidates
    left join superseded
        on
            candidates.source_file = superseded.source_file
            and candidates.file_row_number = superseded.file_row_number

)

select
    versioned.source_file,
    versioned.file_row_number,
    versioned.arrived_night,
    {{ build_started_at() }} as processed_at,
    versioned.change_id as record_key,
    {{ row_disposition([
        {'column': 'strategy_id', 'when': 'staged_strategies.strategy_id is null'},
    ], 'change_id') }},
    versioned.change_id,
    versioned.strategy_id,
    versioned.changed_at,
    versioned.change_type,
    versioned.change_description

from versioned
left join staged_strategies
    on versioned.strategy_id = staged_strategies.strategy_id
