{#- Every raw complaint row, typed, with its disposition (see the quarantine doc). -#}
{%- set rules = common_row_rules('complaint_id')
    + required_value_rules(['listing_id', 'seller_id', 'created_at', 'reason'])
    + [unknown_code_rule('reason', codes=marketplace_accepted_codes('complaints', 'reason'))]
    + timestamp_rules(['created_at']) -%}

with

source as (

    select * from {{ typed_raw_rows(source('marketplace', 'complaints')) }}

),

staged_orders as (

    select order_id from {{ ref('base_marketplace__orders') }}
    where disposition = 'staged'

),

staged_listings as (

    select listing_id from {{ ref('base_marketplace__listings') }}
    where disposition = 'staged'

),

typed as (

    select
        {{ raw_row_lineage() }},
        {{ contract_breach_column('complaints') }} as contract_column,
        unparseable_column,
        cast(complaint_id as {{ dbt.type_string() }}) as complaint_id,
        cast(order_id as {{ dbt.type_string() }}) as order_id,
        cast(listing_id as {{ dbt.type_string() }}) as listing_id,
        cast(seller_id as {{ dbt.type_string() }}) as seller_id,
        created_at,
        cast(reason as {{ dbt.type_string() }}) as reason

    from source

),

checked as (

    select
        *,
        {{ first_broken_rule(rules) }}

    from typed

),

candidates as (

    {{ rows_to_version('checked', 'complaint_id', [
        'complaint_id',
        'order_id',
        'listing_id',
        'seller_id',
        'created_at',
        'reason',
    ]) }}

),

superseded as (

    {{ superseded_versions(source('marketplace', 'complaints'), 'candidates', 'complaint_id', rules) }}

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
    versioned.complaint_id as record_key,
    {{ row_disposition([
        {
            'column': 'order_id',
            'when': 'versioned.order_id is not null and staged_orders.order_id is null',
        },
        {'column': 'listing_id', 'when': 'staged_listings.listing_id is null'},
    ], 'complaint_id') }},
    versioned.complaint_id,
    versioned.order_id,
    versioned.listing_id,
    versioned.seller_id,
    versioned.created_at,
    versioned.reason

from versioned
left join staged_orders
    on versioned.order_id = staged_orders.order_id
left join staged_listings
    on versioned.listing_id = staged_listings.listing_id
