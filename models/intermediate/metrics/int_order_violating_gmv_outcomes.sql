{#- One row per completed order placed up to the reporting date, with its GMV in whole US cents
    and whether the ordered listing is a violating listing: the listing outcome of the metric the
    registry links violating_gmv_share to (`numerator_actions` in metric_registry.yml: the
    listing_violation_rate flag of int_listing_enforcement_outcomes, a takedown or limit for a
    policy violation within 7 days of the listing's creation, not overturned on appeal). The
    orders and their segment (the listing's region and category) are those of
    int_order_complaint_outcomes. Feeds violating_gmv_share. -#}

{%- set linked = metric_definition(metric_definition('violating_gmv_share').numerator_actions.metric) -%}

with

completed_orders as (

    select * from {{ ref('int_order_complaint_outcomes') }}

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
    is_on_violating_listing

from final
