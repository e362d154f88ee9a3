{#- Per-seller activity up to the reporting date: listings and their enforcement outcomes,
    orders, refunds, complaints, QA findings and strategy hits. Every count is aggregated per
    seller first, then joined, so no join multiplies rows. -#}

{#- Incremental on DuckDB (nightly runs) by seller: re-writes the rows of the sellers the night
    touched (macros/incremental/seller_aggregates.sql); a touched seller no longer staged keeps
    no row (pre-hook). The order counts are merged when they can be
    (macros/incremental/merged_order_counts.sql): the stored counts, plus the orders the night
    counts and minus those it no longer counts, without reading the other orders; the other
    counts are re-computed from the inputs of the touched sellers. Every row carries the start
    of the build that wrote it (`processed_at`). -#}
{{ config(**incremental_by_key('seller_id')) }}
{{ config(pre_hook=
    "{{ delete_rows_of_touched_sellers_gone(sellers_touched_for_activity() if is_incremental() else '') }}"
) }}

{#- Read only to find the sellers touched since this model's latest build. #}
-- depends_on: {{ ref('base_marketplace__sellers') }}
-- depends_on: {{ ref('base_marketplace__orders') }}
-- depends_on: {{ ref('base_marketplace__complaints') }}
-- depends_on: {{ ref('base_marketplace__listings') }}
-- depends_on: {{ ref('base_marketplace__qa_case_checks') }}
-- depends_on: {{ ref('base_marketplace__strategy_hits') }}
-- depends_on: {{ ref('stg_marketplace__listings') }}
-- depends_on: {{ ref('int_enforcement_actions_resolved') }}

{%- set is_touched = "in (select touched_sellers.seller_id from touched_sellers)" %}
{%- set merge_orders = is_incremental() and order_counts_can_be_merged() %}

with
{%- if is_incremental() %}

touched_sellers as (

    {{ sellers_touched_for_activity() }}

),
{%- endif %}

sellers as (

    select * from {{ ref('stg_marketplace__sellers') }}

),

listing_outcomes as (

    select * from {{ ref('int_listing_enforcement_outcomes') }}

),

orders as (

    select * from {{ ref('stg_marketplace__orders') }}

),

complaints as (

    select * from {{ ref('stg_marketplace__complaints') }}

),

checks as (

    select * from {{ ref('stg_marketplace__qa_case_checks') }}

),

hits as (

    select * from {{ ref('stg_marketplace__strategy_hits') }}

),

listings as (

    select * from {{ ref('int_listing_segments') }}

),

as_of as (

    select * from {{ ref('int_as_of_date') }}

),

listing_counts as (

    select
        seller_id,
        count(*) as n_listings,
        sum(case when is_violation_within_7d then 1 else 0 end) as n_violation_listings,
        sum(case when is_low_quality_within_7d then 1 else 0 end) as n_low_quality_listings,
        min(created_at) as first_listing_at,
        max(created_at) as last_listing_at

    from listing_outcomes
    {%- if is_incremental() %}
    where seller_id {{ is_touched }}
    {%- endif %}
    group by seller_id

),

{% if merge_orders -%}
{{ merged_order_counts(is_touched) }}
{%- endif %}

{#- Unread (and not run) when the order counts are merged. #}
recounted_order_counts as (

    select
        orders.seller_id,
        count(*) as n_orders,
        sum(case when orders.order_status = 'completed' then 1 else 0 end) as n_completed_orders,
        sum(case when orders.order_status = 'refunded' then 1 else 0 end) as n_refunded_orders,
        -- Rounded to cents: a sum of doubles varies in its last bits with the order rows are
        -- added in, and the same night must publish the same figures.
        round(sum(case when orders.order_status = 'completed' then orders.gmv_usd else 0 end), 2)
            as completed_gmv_usd,
        max(orders.ordered_at) as last_order_at

    from orders
    cross join as_of
    where
        orders.ordered_at < as_of.cutoff_at
    {% if is_incremental() -%}
        and orders.seller_id {{ is_touched }}
    {%- endif %}
    group by orders.seller_id

),

order_counts as (

    select * from {{ 'merged_order_counts' if merge_orders else 'recounted_order_counts' }}

),

complaint_counts as (

    select
        complaints.seller_id,
        count(*) as n_complaints,
        sum(
            case when complaints.reason in ('counterfeit', 'prohibited_item') then 1 else 0 end
        ) as n_serious_complaints,
        max(complaints.created_at) as last_complaint_at

    from complaints
    cross join as_of
    where
        complaints.created_at < as_of.cutoff_at
    {% if is_incremental() -%}
        and complaints.seller_id {{ is_touched }}
    {%- endif %}
    group by complaints.seller_id

),

checks_with_seller as (

    select
        checks.check_id,
        checks.is_violation,
        checks.checked_at,
        {{ target_seller_id('checks') }} as seller_id

    from checks
    cross join as_of
    left join listings
        on
            checks.target_type = 'listing'
            and checks.target_id = listings.listing_id
    where checks.checked_at < as_of.cutoff_at

),

check_counts as (

    select
        seller_id,
        count(*) as n_qa_checks,
        sum(case when is_violation then 1 else 0 end) as n_qa_violations,
        max(checked_at) as last_check_at

    from checks_with_seller
    {%- if is_incremental() %}
    where seller_id {{ is_touched }}
    {%- endif %}
    group by seller_id

),

hits_with_seller as (

    select
        hits.hit_id,
        hits.hit_at,
        {{ target_seller_id('hits') }} as seller_id

    from hits
    cross join as_of
    left join listings
        on
            hits.target_type = 'listing'
            and hits.target_id = listings.listing_id
    where hits.hit_at < as_of.cutoff_at

),

hit_counts as (

    select
        seller_id,
        count(*) as n_strategy_hits,
        max(hit_at) as last_hit_at

    from hits_with_seller
    {%- if is_incremental() %}
    where seller_id {{ is_touched }}
    {%- endif %}
    group by seller_id

)

select
    sellers.seller_id,
    listing_counts.first_listing_at,
    listing_counts.last_listing_at,
    order_counts.last_order_at,
    {#- greatest() of nulls alone is null, and skips nulls on DuckDB and Spark alike. #}
    greatest(
        listing_counts.last_listing_at,
        order_counts.last_order_at,
        complaint_counts.last_complaint_at,
        check_counts.last_check_at,
        hit_counts.last_hit_at
    ) as last_event_at,
    coalesce(listing_counts.n_listings, 0) as n_listings,
    coalesce(listing_counts.n_violation_listings, 0) as n_violation_listings,
    coalesce(listing_counts.n_low_quality_listings, 0) as n_low_quality_listings,
    coalesce(order_counts.n_orders, 0) as n_orders,
    coalesce(order_counts.n_completed_orders, 0) as n_completed_orders,
    coalesce(order_counts.n_refunded_orders, 0) as n_refunded_orders,
    coalesce(order_counts.completed_gmv_usd, 0) as completed_gmv_usd,
    coalesce(complaint_counts.n_complaints, 0) as n_complaints,
    coalesce(complaint_counts.n_serious_complaints, 0) as n_serious_complaints,
    coalesce(check_counts.n_qa_checks, 0) as n_qa_checks,
    coalesce(check_counts.n_qa_violations, 0) as n_qa_violations,
    coalesce(hit_counts.n_strategy_hits, 0) as n_strategy_hits,
    {{ build_started_at() }} as processed_at

from sellers
left join listing_counts
    on sellers.seller_id = listing_counts.seller_id
left join order_counts
    on sellers.seller_id = order_counts.seller_id
left join complaint_counts
    on sellers.seller_id = complaint_counts.seller_id
left join check_counts
    on sellers.seller_id = check_counts.seller_id
left join hit_counts
    on sellers.seller_id = hit_counts.seller_id
{%- if is_incremental() %}
where sellers.seller_id {{ is_touched }}
{%- endif %}
