{#- Every raw listing row, typed, with its disposition (see the quarantine doc). -#}
{%- set rules = common_row_rules('listing_id')
    + required_value_rules(['seller_id', 'created_at', 'category'])
    + [unknown_code_rule('category', seed=['categories', 'category_code'])]
    + timestamp_rules(['created_at'])
    + [{'rule': 'negative_amount', 'column': 'price_usd', 'when': 'price_usd < 0'}] -%}

with

source as (

    select * from {{ typed_raw_rows(source('marketplace', 'listings')) }}

),

staged_sellers as (

    select seller_id from {{ ref('base_marketplace__sellers') }}
    where disposition = 'staged'

),

typed as (

    select
        {{ raw_row_lineage() }},
        {{ contract_breach_column('listings') }} as contract_column,
        unparseable_column,
        cast(listing_id as {{ dbt.type_string() }}) as listing_id,
        cast(seller_id as {{ dbt.type_string() }}) as seller_id,
        created_at,
        cast(category as {{ dbt.type_string() }}) as category,
        cast(title as {{ dbt.type_string() }}) as title,
        price_usd,
        image_count,
        description_length

    from source

),

checked as (

    select
        *,
        {{ first_broken_rule(rules) }}

    from typed

),

candidates as (

    {{ rows_to_version('checked', 'listing_id', [
        'listing_id',
        'seller_id',
        'created_at',
        'category',
        'title',
        'price_usd',
        'image_count',
        'description_length',
    ]) }}

),

superseded as (

    {{ superseded_versions(source('marketplace', 'listings'), 'candidates', 'listing_id', rules) }}

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
    versioned.listing_id as record_key,
    {{ row_disposition([
        {'column': 'seller_id', 'when': 'staged_sellers.seller_id is null'},
    ], 'listing_id') }},
    versioned.listing_id,
    versioned.seller_id,
    versioned.created_at,
    versioned.category,
    versioned.title,
    versioned.price_usd,
    versioned.image_count,
    versioned.description_length

from versioned
left join staged_sellers
    on versioned.seller_id = staged_sellers.seller_id
