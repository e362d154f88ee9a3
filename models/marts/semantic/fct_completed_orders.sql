{#- Public record-grain fact behind complaint_rate: one row per completed order placed up to the
    reporting date, with the ordered listing's segment, its seller's type, the 14-day complaint
    outcome and whether the order day has matured. The outcome definition lives in
    int_order_complaint_outcomes; this model only adds dimensions. -#}

{#- Incremental on DuckDB (nightly runs): re-processes whole order days, those the outcome fact
    can have re-processed (the lookback window, widened by the 14-day complaint window: a recent
    complaint changes an order up to 14 days older) and those not mature yet (is_mature flips as
    the reporting date advances); and the days the outcome fact re-wrote since this model's
    latest build and those of the orders whose listing's seller, or that seller's type,
    changed since (a listing or seller record delivered again;
    macros/incremental/changed_days.sql). -#}
{{ config(**incremental_by_key('ordered_date')) }}

{#- Read only to find the records changed since this model's latest build. #}
-- depends_on: {{ ref('base_marketplace__sellers') }}

{%- if is_incremental() %}
    {#- Maturity only grows with the order day, so the maturing days are all days from the
        earliest one on. #}
    {%- set window_first_day = incremental_window_first_day('ordered_at', complaint_window_days()) -%}
    {%- set maturing_first_day = earliest_or_latest_day_in_this('min', 'ordered_date', 'not is_mature') -%}
    {%- set first_day = [window_first_day, maturing_first_day or window_first_day] | min -%}
    {%- set changed_sellers = record_keys_written_since_latest_build_of_this(ref('base_marketplace__sellers')) %}
    {%- set changed_days = days_of(
        'select order_outcomes.ordered_date as day from ' ~ ref('int_order_complaint_outcomes')
        ~ ' as order_outcomes where ' ~ written_since_latest_build_of_this('order_outcomes')
        ~ " and order_outcomes.ordered_date < cast('" ~ first_day ~ "' as date)"
        ~ ' union all select facts.ordered_date as day from ' ~ this ~ ' as facts'
        ~ ' inner join ' ~ ref('int_listing_segments') ~ ' as segments'
        ~ ' on facts.listing_id = segments.listing_id'
        ~ ' where ' ~ written_since_latest_build_of_this('segments')
        ~ ' and facts.seller_id is distinct from segments.seller_id'
        ~ ' union all select facts.ordered_date as day from ' ~ this ~ ' as facts'
        ~ ' left join ' ~ ref('stg_marketplace__sellers') ~ ' as sellers'
        ~ ' on facts.seller_id = sellers.seller_id'
        ~ ' where facts.seller_id in (' ~ changed_sellers ~ ')'
        ~ ' and facts.seller_type is distinct from sellers.seller_type'
    ) -%}
{%- endif %}

with

order_outcomes as (

    select * from {{ ref('int_order_complaint_outcomes') }}
    {%- if is_incremental() %}
    where
        ordered_date >= cast('{{ first_day }}' as date)
        or {{ is_one_of_days('ordered_date', changed_days) }}
    {%- endif %}

),

listings as (

    select * from {{ ref('int_listing_segments') }}

),

sellers as (

    select * from {{ ref('stg_marketplace__sellers') }}

),

maturity as (

    select * from {{ ref('int_metric_maturity') }}
    where metric_name = 'complaint_rate'

),

final as (

    select
        order_outcomes.order_id,
        order_outcomes.listing_id,
        listings.seller_id,
        order_outcomes.region,
        order_outcomes.category,
        sellers.seller_type,
        order_outcomes.ordered_at,
        order_outcomes.ordered_date,
        order_outcomes.gmv_usd,
        order_outcomes.has_complaint_within_14d,
        {{ cohort_status_columns('order_outcomes.ordered_date') }}

    from order_outcomes
    cross join maturity
    left join listings
        on order_outcomes.listing_id = listings.listing_id
    left join sellers
        on listings.seller_id = sellers.seller_id

)

select
    order_id,
    listing_id,
    seller_id,
    region,
    category,
    seller_type,
    ordered_at,
    ordered_date,
    gmv_usd,
    has_complaint_within_14d,
    is_mature,
    is_complete,
    {{ build_started_at() }} as processed_at

from final
