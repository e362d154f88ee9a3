{#- Public record-grain fact of the completed orders, the one order-grain table: one row per
    completed order placed up to the reporting date, with the ordered listing's segment, its
    seller and that seller's type, and the outcomes of the two order metrics:
    - complaint_rate: whether a complaint about the order came within the complaint window
      (complaint_window_days(), the registry's window of complaint_rate);
    - violating_gmv_share: the order's GMV in whole US cents and whether the ordered listing is
      a violating listing of the metric the registry links violating_gmv_share to
      (`numerator_actions` in metric_registry.yml: the listing_violation_rate flag of
      int_listing_enforcement_outcomes);
    and, for each of the two, whether the order day is mature and complete for that metric
    (`is_<metric>_mature`, `is_<metric>_complete`): the metrics' windows and the sources they
    count (complaints, enforcement actions) differ, so one pair of flags would be wrong for one
    of them. -#}

{#- Incremental on DuckDB (nightly runs, macros/incremental/completed_orders.sql): re-writes
    whole the order days of the lookback window and those whose maturity or completeness flag
    changes (order_days_reprocessed(), which the pre-hook deletes first: a day whose orders all
    left keeps no row), and examines the other orders an input the night brought can change
    one by one (orders_examined(): a late complaint, a changed listing outcome, segment or
    seller type, an order delivered again); of those it writes the orders whose row differs
    from the stored one and every order whose record changed, and the post-hook deletes the
    rows they replace. dbt's own delete by day would delete the other orders of their days:
    it is turned off (incremental_predicates), the hooks delete. -#}
{{ config(**incremental_by_key('ordered_date')) }}
{{ config(
    incremental_predicates=['false'],
    pre_hook="{{ delete_days_reprocessed(order_days_reprocessed('ordered_date') if is_incremental() else '') }}",
    post_hook="{{ delete_orders_replaced() }}",
) }}

{#- Read only to find the records changed since this model's latest build. #}
-- depends_on: {{ ref('base_marketplace__listings') }}
-- depends_on: {{ ref('base_marketplace__sellers') }}
-- depends_on: {{ ref('base_marketplace__orders') }}
-- depends_on: {{ ref('base_marketplace__complaints') }}

{%- set cutoff_at = reporting_cutoff_at() %}
{%- set linked = metric_definition(metric_definition('violating_gmv_share').numerator_actions.metric) -%}
{#- The fact's columns but its stamp: written in this order, and compared with the stored row of
    an order examined one by one. #}
{%- set fact_columns = [
    'order_id', 'listing_id', 'seller_id', 'region', 'category', 'seller_type', 'ordered_at',
    'ordered_date', 'gmv_usd', 'gmv_cents', 'has_complaint_within_14d', 'is_on_violating_listing',
    'is_complaint_rate_mature', 'is_complaint_rate_complete', 'is_violating_gmv_share_mature',
    'is_violating_gmv_share_complete',
] %}
{%- if is_incremental() %}
    {%- set whole_days = order_days_reprocessed('cast(ordered_at as date)', at_column='ordered_at') %}
    {%- set examined = is_one_of_days('cast(ordered_at as date)', order_days_examined_apart())
        ~ ' and order_id in (select examined_orders.order_id from examined_orders)' %}
    {#- No order before it is read, nor a complaint about one (a complaint counts from the order time on). #}
    {%- set read_from = 'cast(cast(\'' ~ earliest_order_day_read() ~ '\' as date) as ' ~ dbt.type_timestamp() ~ ')' %}
    {%- set reprocessed = 'ordered_at >= ' ~ read_from ~ ' and (' ~ whole_days ~ ' or (' ~ examined ~ '))' %}
{%- endif %}

with

{% if is_incremental() -%}
examined_orders as (

    select distinct examined.order_id from ({{ orders_examined(order_days_examined()) }}) as examined

),

delivered_again as (

    select distinct delivered.order_id from ({{ orders_delivered_again() }}) as delivered

),

{# The stored rows of the orders examined one by one on the days not re-written whole, to
    write only those that changed. #}
stored as (

    select {{ fact_columns | join(', ') }}
    from {{ this }}
    where
        {{ is_one_of_days('ordered_date', order_days_examined_apart()) }}
        and order_id in (select examined_orders.order_id from examined_orders)

),

{% endif -%}
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

sellers as (

    select * from {{ ref('stg_marketplace__sellers') }}

),

listing_outcomes as (

    select * from {{ ref(linked.outcome.model) }}

),

complaint_rate_maturity as (

    select * from {{ ref('int_metric_maturity') }}
    where metric_name = 'complaint_rate'

),

violating_gmv_share_maturity as (

    select * from {{ ref('int_metric_maturity') }}
    where metric_name = 'violating_gmv_share'

),

completed_orders as (

    select
        orders.order_id,
        orders.listing_id,
        orders.ordered_at,
        cast(orders.ordered_at as date) as ordered_date,
        orders.gmv_usd
    from orders
    where
        orders.order_status = 'completed'
        and orders.ordered_at < {{ cutoff_at }}
    {% if is_incremental() -%}
        and {{ reprocessed }}
    {%- endif %}

),

{# On an incremental run, the segments and outcomes of the listings ordered in scope only: the
    engine then joins none of the other listings (it still reads their keys). #}
listings_ordered as (

    select
        listings.listing_id,
        listings.seller_id,
        listings.region,
        listings.category
    from listings
    {%- if is_incremental() %}
    where listings.listing_id in (select completed_orders.listing_id from completed_orders)
    {%- endif %}

),

listing_outcomes_ordered as (

    select
        listing_outcomes.{{ linked.outcome.key }},
        listing_outcomes.{{ linked.outcome.flag }}
    from listing_outcomes
    {%- if is_incremental() %}
    where listing_outcomes.{{ linked.outcome.key }} in (select completed_orders.listing_id from completed_orders)
    {%- endif %}

),

complaints_in_scope as (

    select
        complaints.order_id,
        complaints.created_at
    from complaints
    where
        complaints.order_id is not null
        and complaints.created_at < {{ cutoff_at }}
    {%- if is_incremental() %}
        and complaints.created_at >= {{ read_from }}
    {%- endif %}

),

{# Every order with a complaint within the window, whatever its status (the final join keeps
    the completed orders in scope). #}
complained_orders as (

    select distinct order_times.order_id
    from order_times
    inner join complaints_in_scope
        on
            order_times.order_id = complaints_in_scope.order_id
            and order_times.ordered_at <= complaints_in_scope.created_at
            and complaints_in_scope.created_at
            <= {{ dbt.dateadd('day', complaint_window_days(), 'order_times.ordered_at') }}

),

final as (

    select
        completed_orders.order_id,
        completed_orders.listing_id,
        listings_ordered.seller_id,
        listings_ordered.region,
        listings_ordered.category,
        sellers.seller_type,
        completed_orders.ordered_at,
        completed_orders.ordered_date,
        completed_orders.gmv_usd,
        coalesce(cast(round(completed_orders.gmv_usd * 100) as bigint), 0) as gmv_cents,
        complained_orders.order_id is not null as has_complaint_within_14d,
        coalesce(listing_outcomes_ordered.{{ linked.outcome.flag }}, false) as is_on_violating_listing,
        {{ cohort_status_columns(
            'completed_orders.ordered_date', 'complaint_rate_maturity', 'complaint_rate'
        ) }},
        {{ cohort_status_columns(
            'completed_orders.ordered_date', 'violating_gmv_share_maturity', 'violating_gmv_share'
        ) }}

    from completed_orders
    cross join complaint_rate_maturity
    cross join violating_gmv_share_maturity
    left join listings_ordered
        on completed_orders.listing_id = listings_ordered.listing_id
    left join sellers
        on listings_ordered.seller_id = sellers.seller_id
    left join listing_outcomes_ordered
        on completed_orders.listing_id = listing_outcomes_ordered.{{ linked.outcome.key }}
    left join complained_orders
        on completed_orders.order_id = complained_orders.order_id

),

{# On an incremental run, the orders of the days re-written whole, the orders whose record
    changed, and the other examined orders whose row differs from the stored one (or has none). #}
written as (

    select {{ 'final.' ~ fact_columns | join(', final.') }}
    from final
    {%- if is_incremental() %}
    left join stored
        on final.order_id = stored.order_id
    where
        {{ order_days_reprocessed('final.ordered_date') }}
        or final.order_id in (select delivered_again.order_id from delivered_again)
        or stored.order_id is null
        {%- for column in fact_columns %}
        or final.{{ column }} is distinct from stored.{{ column }}
        {%- endfor %}
    {%- endif %}

)

select
    {{ fact_columns | join(',\n    ') }},
    {{ build_started_at() }} as processed_at

from written
