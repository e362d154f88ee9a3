{#- One row per completed order placed up to the reporting date, with whether a complaint about
    that order followed within 14 days. The segment is the order's listing's. Feeds
    complaint_rate. -#}

{#- Incremental on DuckDB (nightly runs): re-processes whole order days, those in the lookback
    window widened by the 14-day complaint window (macros/incremental/windows.sql). A complaint filed in
    the lookback window counts only for an order placed at most 14 days before it, so no older
    order day can change, however late complaints about older orders arrive. It also
    re-processes the days of the orders whose listing's segment int_listing_segments re-wrote
    since this model's latest build with another region or category (a listing or seller
    record delivered again; macros/incremental/changed_days.sql). -#}
{{ config(**incremental_by_key('ordered_date')) }}

{%- set cutoff_at = reporting_cutoff_at() %}
{%- if is_incremental() %}
    {%- set reprocessed_from = 'cast(' ~ incremental_window_start('ordered_at', complaint_window_days())
        ~ ' as ' ~ dbt.type_timestamp() ~ ')' %}
    {%- set resegmented_days = days_of(
        'select orders.ordered_date as day from ' ~ this ~ ' as orders'
        ~ ' inner join ' ~ ref('int_listing_segments') ~ ' as segments'
        ~ ' on orders.listing_id = segments.listing_id'
        ~ ' where ' ~ written_since_latest_build_of_this('segments')
        ~ ' and (orders.region is distinct from segments.region'
        ~ ' or orders.category is distinct from segments.category)'
    ) %}
    {%- set reprocessed = '(ordered_at >= ' ~ reprocessed_from ~ ' or '
        ~ is_one_of_days('cast(ordered_at as date)', resegmented_days) ~ ')' %}
{%- endif %}

with

orders as (

    select * from {{ ref('stg_marketplace__orders') }}

),

{# The orders' times, read on their own for the complaint check: a CTE read twice is materialised
    whole by some engines (DuckDB: 100M orders, a third of the model's run time), a relation read
    twice is not. #}
order_times as (

    select
        order_id,
        ordered_at
    from {{ ref('stg_marketplace__orders') }}
    {%- if is_incremental() %}
    where
        {{ reprocessed }}
    {%- endif %}

),

complaints as (

    select * from {{ ref('stg_marketplace__complaints') }}

),

listings as (

    select * from {{ ref('int_listing_segments') }}

),

completed_orders as (

    select orders.*
    from orders
    where
        orders.order_status = 'completed'
        and orders.ordered_at < {{ cutoff_at }}
    {% if is_incremental() -%}
        and {{ reprocessed }}
    {%- endif %}

),

complaints_in_scope as (

    select complaints.*
    from complaints
    where
        complaints.order_id is not null
        and complaints.created_at < {{ cutoff_at }}

),

{# Every order with a complaint within 14 days, whatever its status (the final join keeps the
    completed orders in scope). #}
complained_orders as (

    select distinct order_times.order_id
    from order_times
    inner join complaints_in_scope
        on
            order_times.order_id = complaints_in_scope.order_id
            and order_times.ordered_at <= complaints_in_scope.created_at
            and complaints_in_scope.created_at
            <= {{ dbt.dateadd('day', complaint_window_days(), 'order_times.ordered_at') }}

)

select
    completed_orders.order_id,
    completed_orders.listing_id,
    listings.region,
    listings.category,
    completed_orders.ordered_at,
    cast(completed_orders.ordered_at as date) as ordered_date,
    completed_orders.gmv_usd,
    complained_orders.order_id is not null as has_complaint_within_14d,
    {{ build_started_at() }} as processed_at

from completed_orders
left join listings
    on completed_orders.listing_id = listings.listing_id
left join complained_orders
    on completed_orders.order_id = complained_orders.order_id
