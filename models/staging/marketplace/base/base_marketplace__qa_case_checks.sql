{#- Every raw QA case-check row, typed, with its disposition (see the quarantine doc). -#}
{%- set rules = common_row_rules('check_id')
    + required_value_rules(['target_type', 'target_id', 'sample_type', 'checked_at', 'is_violation'])
    + [
        unknown_code_rule('target_type', codes=marketplace_accepted_codes('qa_case_checks', 'target_type')),
        unknown_code_rule('sample_type', codes=marketplace_accepted_codes('qa_case_checks', 'sample_type')),
        unknown_code_rule('policy_code', seed=['policies', 'policy_code']),
    ]
    + timestamp_rules(['checked_at']) -%}

with

source as (

    select * from {{ typed_raw_rows(source('marketplace', 'qa_case_checks')) }}

),

staged_strategies as (

    select strategy_id from {{ ref('base_marketplace__strategies') }}
    where disposition = 'staged'

),

staged_listings as (

    select listing_id from {{ ref('base_marketplace__listings') }}
    where disposition = 'staged'

),

staged_sellers as (

    select seller_id from {{ ref('base_marketplace__sellers') }}
    where disposition = 'staged'

),

typed as (

    select
        {{ raw_row_lineage() }},
        {{ contract_breach_column('qa_case_checks') }} as contract_column,
        unparseable_column,
        cast(check_id as {{ dbt.type_string() }}) as check_id,
        cast(target_type as {{ dbt.type_string() }}) as target_type,
        cast(target_id as {{ dbt.type_string() }}) as target_id,
        cast(sample_type as {{ dbt.type_string() }}) as sample_type,
        cast(strategy_id as {{ dbt.type_string() }}) as strategy_id,
        checked_at,
        is_violation,
        cast(policy_code as {{ dbt.type_string() }}) as policy_code

    from source

),

checked as (

    select
        *,
        {{ first_broken_rule(rules) }}

    from typed

),

candidates as (

    {{ rows_to_version('checked', 'check_id', [
        'check_id',
        'target_type',
        'target_id',
        'sample_type',
        'strategy_id',
        'checked_at',
        'is_violation',
        'policy_code',
    ]) }}

),

superseded as (

    {{ superseded_versions(source('marketplace', 'qa_case_checks'), 'candidates', 'check_id', rules) }}

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
    versioned.check_id as record_key,
    {{ row_disposition([
        {
            'column': 'strategy_id',
            'when': 'versioned.strategy_id is not null and staged_strategies.strategy_id is null',
        },
        {
            'column': 'target_id',
            'when': 'staged_listings.listing_id is null and staged_sellers.seller_id is null',
        },
    ], 'check_id') }},
    versioned.check_id,
    versioned.target_type,
    versioned.target_id,
    versioned.sample_type,
    versioned.strategy_id,
    versioned.checked_at,
    versioned.is_violation,
    versioned.policy_code

from versioned
left join staged_strategies
    on versioned.strategy_id = staged_strategies.strategy_id
left join staged_listings
    on
        versioned.target_type = 'listing'
        and versioned.target_id = staged_listings.listing_id
left join staged_sellers
    on
        versioned.target_type = 'seller'
        and versioned.target_id = staged_sellers.seller_id
