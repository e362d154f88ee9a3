{#- Every raw seller row, typed, PII hashed, with its disposition (see the quarantine doc). -#}
{%- set rules = common_row_rules('seller_id')
    + required_value_rules(['registered_at', 'region', 'seller_type', 'primary_category'])
    + [
        unknown_code_rule('region', seed=['regions', 'region_code']),
        unknown_code_rule('seller_type', codes=marketplace_accepted_codes('sellers', 'seller_type')),
        unknown_code_rule('primary_category', seed=['categories', 'category_code']),
    ]
    + timestamp_rules(['registered_at', 'onboarded_at'])
    + [
        {
            'rule': 'onboarded_before_registered',
            'column': 'onboarded_at',
            'when': 'onboarded_at < registered_at',
        },
    ] -%}

with

source as (

    select * from {{ typed_raw_rows(source('marketplace', 'sellers')) }}

),

typed as (

    select
        {{ raw_row_lineage() }},
        {{ contract_breach_column('sellers') }} as contract_column,
        unparseable_column,
        cast(seller_id as {{ dbt.type_string() }}) as seller_id,
        registered_at,
        onboarded_at,
        cast(region as {{ dbt.type_string() }}) as region,
        cast(seller_type as {{ dbt.type_string() }}) as seller_type,
        cast(primary_category as {{ dbt.type_string() }}) as primary_category,
        {{ hash_pii('legal_name') }} as legal_name_hash,
        {{ hash_pii('email') }} as email_hash,
        {{ hash_pii('phone') }} as phone_hash

    from source

),

checked as (

    select
        *,
        {{ first_broken_rule(rules) }}

    from typed

),

candidates as (

    {{ rows_to_version('checked', 'seller_id', [
        'seller_id',
        'registered_at',
        'onboarded_at',
        'region',
        'seller_type',
        'primary_category',
        'legal_name_hash',
        'email_hash',
        'phone_hash',
    ]) }}

),

superseded as (

    {{ superseded_versions(source('marketplace', 'sellers'), 'candidates', 'seller_id', rules) }}

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
    seller_id as record_key,
    {{ row_disposition([], 'seller_id') }},
    seller_id,
    registered_at,
    onboarded_at,
    region,
    seller_type,
    primary_category,
    legal_name_hash,
    email_hash,
    phone_hash

from versioned
