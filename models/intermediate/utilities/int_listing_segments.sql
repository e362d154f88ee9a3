{#- Every listing with its segment: the seller's region and the listing's category. -#}

{#- Incremental on DuckDB (nightly runs): re-processes whole creation days, those of the
    listings whose staged record changed since this model's latest build (a new, re-delivered
    or late listing, the version it replaced, an orphan whose seller arrived: both its old and
    its new creation day) and those of the listings whose seller's region changed
    (macros/incremental/reprocessed_days.sql, which its pre-hook deletes first: a day whose
    listings all left keeps no row). No other change reaches a listing's row. -#}
{{ config(**incremental_by_key('created_date')) }}
{{ config(pre_hook=
    "{{ delete_days_reprocessed(listing_segment_days_reprocessed('created_date') if is_incremental() else '') }}"
) }}

{#- Read only to find the records changed since this model's latest build. #}
-- depends_on: {{ ref('base_marketplace__listings') }}
-- depends_on: {{ ref('base_marketplace__sellers') }}

with

listings as (

    select * from {{ ref('stg_marketplace__listings') }}
    {%- if is_incremental() %}
    where {{ listing_segment_days_reprocessed('cast(created_at as date)') }}
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
