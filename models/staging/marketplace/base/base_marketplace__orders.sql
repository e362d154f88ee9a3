{#- Every raw order row, typed, with its disposition (see the quarantine doc). -#}
{%- set rules = common_row_rules('order_id')
    + required_value_rules(['listing_id', 'seller_id', 'ordered_at', 'order_status'])
    + [unknown_code_rule('order_status', codes=marketplace_accepted_codes('orders', 'order_status'))]
    + timestamp_rules(['ordered_at'])
    + [{'rule': 'negative_amount', 'column': 'gmv_usd', 'when': 'gmv_usd < 0'}] -%}

with

source as (

    select * from {{ typed_raw_rows(source('marketplace', 'orders')) }}

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
        {{ contract_breach_column('orders') }} as contract_column,
        unparseable_column,
        cast(order_id as {{ dbt.type_string() }}) as order_id,
        cast(listing_id as {{ dbt.type_string() }}) as listing_id,
        cast(seller_id as {{ dbt.type_string() }}) as seller_id,
        cast(buyer_id as {{ dbt.type_string() }}) as buyer_id,
        ordered_at,
        gmv_usd,
        cast(order_status as {{ dbt.type_string() }}) as order_status

    from source

),

checked as (

    select
        *,
        {{ first_broken_rule(rules) }}

    from typed

),

candidates as (

    {{ rows_to_version('checked', 'order_id', [
        'order_id',
        'listing_id',
        'seller_id',
        'buyer_id',
        'ordered_at',
        'gmv_usd',
        'order_status',
    ]) }}

),

superseded as (

    {{ superseded_versions(source('marketplace', 'orders'), 'candidates', 'order_id', rules) }}

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
    versioned.order_id as record_key,
    {{ row_disposition([
        {'column': 'listing_id', 'when': 'staged_listings.listing_id is null'},
        {'column': 'seller_id', 'when': 'staged_sellers.seller_id is null'},
    ], 'order_id') }},
    versioned.disposition_before,
    versioned.order_id,
    versioned.listing_id,
    versioned.seller_id,
    versioned.buyer_id,
    versioned.ordered_at,
    versioned.gmv_usd,
    versioned.order_status

from versioned
left join staged_listings
    on versioned.listing_id = staged_listings.listing_id
left join staged_sellers
    on versioned.seller_id = staged_sellers.seller_id
