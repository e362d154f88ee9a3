{#- One row per completed order placed up to the reporting date, with its GMV in whole US cents
    and whether the ordered listing is a violating listing: the listing outcome of the metric the
    registry links violating_gmv_share to (`numerator_actions` in metric_registry.yml: the
    listing_violation_rate flag of int_listing_enforcement_outcomes, a takedown or limit for a
    policy violation within 7 days of the listing's creation, not overturned on appeal). The
    orders and their segment (the listing's region and category) are those of
    int_order_complaint_outcomes. Feeds violating_gmv_share. -#}

{#- Incremental on DuckDB (nightly runs): re-processes whole order days, those the order fact
    re-wrote since this model's latest build and those of the orders whose listing's outcome
    row changed since (a listing action within 7 days of the listing's creation, an overturn on
    appeal however late, a listing delivered late or again): the orders of the listings whose
    outcome rows the night re-wrote, where the flag or the seller this model holds differs from
    the new outcome (macros/incremental/changed_days.sql). -#}
{{ config(**incremental_by_key('ordered_date')) }}

{%- set linked = metric_definition(metric_definition('violating_gmv_share').numerator_actions.metric) -%}

{%- if is_incremental() %}
    {%- set days = days_of(
        'select order_outcomes.ordered_date as day from ' ~ ref('int_order_complaint_outcomes')
        ~ ' as order_outcomes where ' ~ written_since_latest_build_of_this('order_outcomes')
        ~ ' union all select orders.ordered_date as day from ' ~ this ~ ' as orders'
        ~ ' inner join ' ~ ref(linked.outcome.model) ~ ' as listing_outcomes'
        ~ ' on orders.listing_id = listing_outcomes.' ~ linked.outcome.key
        ~ ' where ' ~ written_since_latest_build_of_this('listing_outcomes')
        ~ ' and (orders.is_on_violating_listing <> listing_outcomes.' ~ linked.outcome.flag
        ~ ' or orders.seller_id is distinct from listing_outcomes.seller_id)'
    ) %}
{%- endif %}

with

completed_orders as (

    select * from {{ ref('int_order_complaint_outcomes') }}
    {%- if is_incremental() %}
    where {{ is_one_of_days('ordered_date', days) }}
    {%- endif %}

),

listing_outcomes as (

    select * from {{ ref(linked.outcome.model) }}

),

final as (

    select
        completed_orders.order_id,
        completed_orders.listing_id,
        listing_outcomes.seller_id,
        completed_orders.region,
        completed_orders.category,
        completed_orders.ordered_at,
        completed_orders.ordered_date,
        coalesce(cast(round(completed_orders.gmv_usd * 100) as bigint), 0) as gmv_cents,
        coalesce(listing_outcomes.{{ linked.outcome.flag }}, false) as is_on_violating_listing

    from completed_orders
    left join listing_outcomes
        on completed_orders.listing_id = listing_outcomes.{{ linked.outcome.key }}

)

select
    order_id,
    listing_id,
    seller_id,
    region,
    category,
    ordered_at,
    ordered_date,
    gmv_cents,
    is_on_violating_listing,
    {{ build_started_at() }} as processed_at

from final
