{#- Every raw enforcement-action row, typed, with its disposition (see the quarantine doc). -#}
{%- set rules = common_row_rules('action_id')
    + required_value_rules(['target_type', 'target_id', 'action_type', 'policy_code', 'acted_at'])
    + [
        unknown_code_rule(
            'target_type', codes=marketplace_accepted_codes('enforcement_actions', 'target_type')
        ),
        unknown_code_rule(
            'action_type', codes=marketplace_accepted_codes('enforcement_actions', 'action_type')
        ),
        unknown_code_rule('policy_code', seed=['policies', 'policy_code']),
    ]
    + timestamp_rules(['acted_at']) -%}

with

source as (

    select * from {{ typed_raw_rows(source('marketplace', 'enforcement_actions')) }}

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
        {{ contract_breach_column('enforcement_actions') }} as contract_column,
        unparseable_column,
        cast(action_id as {{ dbt.type_string() }}) as action_id,
        cast(target_type as {{ dbt.type_string() }}) as target_type,
        cast(target_id as {{ dbt.type_string() }}) as target_id,
        cast(action_type as {{ dbt.type_string() }}) as action_type,
        cast(policy_code as {{ dbt.type_string() }}) as policy_code,
        cast(strategy_id as {{ dbt.type_string() }}) as strategy_id,
        acted_at

    from source

),

checked as (

    select
        *,
        {{ first_broken_rule(rules) }}

    from typed

),

candidates as (

    {{ rows_to_version('checked', 'action_id', [
        'action_id',
        'target_type',
        'target_id',
        'action_type',
        'policy_code',
        'strategy_id',
        'acted_at',
    ]) }}

),

superseded as (

    {{ superseded_versions(source('marketplace', 'enforcement_actions'), 'candidates', 'action_id', rules) }}

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
    versioned.action_id as record_key,
    {{ row_disposition([
        {
            'column': 'strategy_id',
            'when': 'versioned.strategy_id is not null and staged_strategies.strategy_id is null',
        },
        {
            'column': 'target_id',
            'when': 'staged_listings.listing_id is null and staged_sellers.seller_id is null',
        },
    ], 'action_id') }},
    versioned.action_id,
    versioned.target_type,
    versioned.target_id,
    versioned.action_type,
    versioned.policy_code,
    versioned.strategy_id,
    versioned.acted_at

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
