{#- Every raw strategy-hit row, typed, with its disposition (see the quarantine doc). -#}
{%- set rules = common_row_rules('hit_id')
    + required_value_rules(['strategy_id', 'target_type', 'target_id', 'hit_at'])
    + [unknown_code_rule('target_type', codes=marketplace_accepted_codes('strategy_hits', 'target_type'))]
    + timestamp_rules(['hit_at']) -%}

with

source as (

    select * from {{ typed_raw_rows(source('marketplace', 'strategy_hits')) }}

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
        {{ contract_breach_column('strategy_hits') }} as contract_column,
        unparseable_column,
        cast(hit_id as {{ dbt.type_string() }}) as hit_id,
        cast(strategy_id as {{ dbt.type_string() }}) as strategy_id,
        cast(target_type as {{ dbt.type_string() }}) as target_type,
        cast(target_id as {{ dbt.type_string() }}) as target_id,
        hit_at,
        risk_score

    from source

),

checked as (

    select
        *,
        {{ first_broken_rule(rules) }}

    from typed

),

candidates as (

    {{ rows_to_version('checked', 'hit_id', [
        'hit_id',
        'strategy_id',
        'target_type',
        'target_id',
        'hit_at',
        'risk_score',
    ]) }}

),

superseded as (

    {{ superseded_versions(source('marketplace', 'strategy_hits'), 'candidates', 'hit_id', rules) }}

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
    versioned.hit_id as record_key,
    {{ row_disposition([
        {'column': 'strategy_id', 'when': 'staged_strategies.strategy_id is null'},
        {
            'column': 'target_id',
            'when': 'staged_listings.listing_id is null and staged_sellers.seller_id is null',
        },
    ], 'hit_id') }},
    versioned.hit_id,
    versioned.strategy_id,
    versioned.target_type,
    versioned.target_id,
    versioned.hit_at,
    versioned.risk_score

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
