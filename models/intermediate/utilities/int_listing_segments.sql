{#- Every listing with its segment: the seller's region and the listing's category. -#}

{#- Incremental on DuckDB (nightly runs): re-processes whole creation days, those of the
    listings whose staged record changed since this model's latest build (a new, re-delivered
    or late listing, the version it replaced, an orphan whose seller arrived: both its old and
    its new creation day) and those of the listings whose seller's region changed
    (macros/incremental/changed_days.sql). No other change reaches a listing's row. -#}
{{ config(**incremental_by_key('created_date')) }}

{#- Read only to find the records changed since this model's latest build. #}
-- depends_on: {{ ref('base_marketplace__listings') }}
-- depends_on: {{ ref('base_marketplace__sellers') }}

{%- if is_incremental() %}
    {%- set changed_listings = record_keys_written_since_latest_build_of_this(ref('base_marketplace__listings')) %}
    {%- set changed_sellers = record_keys_written_since_latest_build_of_this(ref('base_marketplace__sellers')) %}
    {%- set days = days_of(
        'select cast(listing_rows.created_at as date) as day from '
        ~ ref('base_marketplace__listings') ~ ' as listing_rows where '
        ~ written_since_latest_build_of_this('listing_rows')
        ~ ' union all select segments.created_date as day from ' ~ this ~ ' as segments'
        ~ ' where segments.listing_id in (' ~ changed_listings ~ ')'
        ~ ' union all select segments.created_date as day from ' ~ this ~ ' as segments'
        ~ ' left join ' ~ ref('stg_marketplace__sellers') ~ ' as sellers'
        ~ ' on segments.seller_id = sellers.seller_id'
        ~ ' where segments.seller_id in (' ~ changed_sellers ~ ')'
        ~ ' and segments.region is distinct from sellers.region'
    ) %}
{%- endif %}

with

listings as (

    select * from {{ ref('stg_marketplace__listings') }}
    {%- if is_incremental() %}
    where {{ is_one_of_days('cast(created_at as date)', days) }}
    {%- endif %}

),

sellers as (

    select * from {{ ref('stg_marketplace__sellers') }}

)

select
    listings.listing_id,
    listings.seller_id,
    listings.created_at,
    cast(listings.created_at as date) as created_date,
    sellers.region,
    listings.category,
    {{ build_started_at() }} as processed_at

from listings
left join sellers
    on listings.seller_id = sellers.seller_id
