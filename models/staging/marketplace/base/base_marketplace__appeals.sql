{#- Every raw appeal row, typed, with its disposition (see the quarantine doc). -#}
{%- set rules = common_row_rules('appeal_id')
    + required_value_rules(['action_id', 'filed_at'])
    + [unknown_code_rule('outcome', codes=marketplace_accepted_codes('appeals', 'outcome'))]
    + timestamp_rules(['filed_at', 'resolved_at'])
    + [
        {'rule': 'resolved_before_filed', 'column': 'resolved_at', 'when': 'resolved_at < filed_at'},
        {
            'rule': 'outcome_without_resolution',
            'column': 'outcome',
            'when': '(outcome is null) <> (resolved_at is null)',
        },
    ] -%}

with

source as (

    select * from {{ typed_raw_rows(source('marketplace', 'appeals')) }}

),

staged_actions as (

    select action_id from {{ ref('base_marketplace__enforcement_actions') }}
    where disposition = 'staged'

),

typed as (

    select
        {{ raw_row_lineage() }},
        {{ contract_breach_column('appeals') }} as contract_column,
        unparseable_column,
        cast(appeal_id as {{ dbt.type_string() }}) as appeal_id,
        cast(action_id as {{ dbt.type_string() }}) as action_id,
        filed_at,
        resolved_at,
        cast(outcome as {{ dbt.type_string() }}) as outcome

    from source

),

checked as (

    select
        *,
        {{ first_broken_rule(rules) }}

    from typed

),

candidates as (

    {{ rows_to_version('checked', 'appeal_id', [
        'appeal_id',
        'action_id',
        'filed_at',
        'resolved_at',
        'outcome',
    ]) }}

),

superseded as (

    {{ superseded_versions(source('marketplace', 'appeals'), 'candidates', 'appeal_id', rules) }}

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
    versioned.appeal_id as record_key,
    {{ row_disposition([
        {'column': 'action_id', 'when': 'staged_actions.action_id is null'},
    ], 'appeal_id') }},
    versioned.appeal_id,
    versioned.action_id,
    versioned.filed_at,
    versioned.resolved_at,
    versioned.outcome

from versioned
left join staged_actions
    on versioned.action_id = staged_actions.action_id
