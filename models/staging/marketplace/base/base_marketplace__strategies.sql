{#- Every raw strategy row, typed, with its disposition (see the quarantine doc). -#}
{%- set rules = common_row_rules('strategy_id')
    + required_value_rules(['strategy_type', 'policy_code', 'target_type'])
    + [
        unknown_code_rule('strategy_type', codes=marketplace_accepted_codes('strategies', 'strategy_type')),
        unknown_code_rule('policy_code', seed=['policies', 'policy_code']),
        unknown_code_rule('target_type', codes=marketplace_accepted_codes('strategies', 'target_type')),
    ]
    + timestamp_rules(['launched_at', 'retired_at']) -%}

with

source as (

    select * from {{ typed_raw_rows(source('marketplace', 'strategies')) }}

),

typed as (

    select
        {{ raw_row_lineage() }},
        {{ contract_breach_column('strategies') }} as contract_column,
        unparseable_column,
        cast(strategy_id as {{ dbt.type_string() }}) as strategy_id,
        cast(strategy_name as {{ dbt.type_string() }}) as strategy_name,
        cast(strategy_type as {{ dbt.type_string() }}) as strategy_type,
        cast(policy_code as {{ dbt.type_string() }}) as policy_code,
        cast(target_type as {{ dbt.type_string() }}) as target_type,
        launched_at,
        retired_at

    from source

),

checked as (

    select
        *,
        {{ first_broken_rule(rules) }}

    from typed

),

candidates as (

    {{ rows_to_version('checked', 'strategy_id', [
        'strategy_id',
        'strategy_name',
        'strategy_type',
        'policy_code',
        'target_type',
        'launched_at',
        'retired_at',
    ]) }}

),

superseded as (

    {{ superseded_versions(source('marketplace', 'strategies'), 'candidates', 'strategy_id', rules) }}

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
    source_file,
    file_row_number,
    arrived_night,
    {{ build_started_at() }} as processed_at,
    strategy_id as record_key,
    {{ row_disposition([], 'strategy_id') }},
    strategy_id,
    strategy_name,
    strategy_type,
    policy_code,
    target_type,
    launched_at,
    retired_at

from versioned
