{#- Every raw identity-signal row, typed, the signal value hashed, with its disposition (see the
    quarantine doc). A record is one observation: seller, signal type, value and time; exact
    repeats are superseded. -#}
{%- set rules = common_row_rules('seller_id')
    + required_value_rules(['signal_type', 'signal_value', 'observed_at'])
    + [
        unknown_code_rule(
            'signal_type', codes=marketplace_accepted_codes('seller_identity_signals', 'signal_type')
        ),
    ]
    + timestamp_rules(['observed_at']) -%}

with

source as (

    select * from {{ typed_raw_rows(source('marketplace', 'seller_identity_signals')) }}

),

staged_sellers as (

    select seller_id from {{ ref('base_marketplace__sellers') }}
    where disposition = 'staged'

),

typed as (

    select
        {{ raw_row_lineage() }},
        {{ contract_breach_column('seller_identity_signals') }} as contract_column,
        unparseable_column,
        cast(seller_id as {{ dbt.type_string() }}) as seller_id,
        cast(signal_type as {{ dbt.type_string() }}) as signal_type,
        {#- The raw value stays inside the model (its rules and its versions read it); only its
            hash is written. #}
        signal_value,
        {{ hash_pii('signal_value') }} as signal_value_hash,
        observed_at

    from source

),

keyed as (

    select
        *,
        {{ dbt.hash(dbt.concat([
            "seller_id", "'|'", "signal_type", "'|'", "signal_value_hash", "'|'",
            dbt.cast("observed_at", dbt.type_string())
        ])) }} as signal_observation_id

    from typed

),

checked as (

    select
        *,
        {{ first_broken_rule(rules) }}

    from keyed

),

candidates as (

    {{ rows_to_version('checked', 'signal_observation_id', [
        'seller_id',
        'signal_type',
        'signal_value_hash',
        'observed_at',
        'signal_observation_id',
    ]) }}

),

superseded as (

    {{ superseded_versions(
        source('marketplace', 'seller_identity_signals'), 'candidates', 'signal_observation_id', rules,
        record_columns=['seller_id', 'signal_type', 'signal_value', 'observed_at']
    ) }}

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
    versioned.signal_observation_id as record_key,
    {{ row_disposition([
        {'column': 'seller_id', 'when': 'staged_sellers.seller_id is null'},
    ], 'signal_observation_id') }},
    versioned.signal_observation_id,
    versioned.seller_id,
    versioned.signal_type,
    versioned.signal_value_hash,
    versioned.observed_at

from versioned
left join staged_sellers
    on versioned.seller_id = staged_sellers.seller_id
