{#- Public record-grain fact of the completed orders, the one order-grain table: one row per
    completed order placed up to the reporting date, with the ordered listing's segment, its
    seller and that seller's type, and the outcomes of the two order metrics:
    - complaint_rate: whether a complaint about the order came within the complaint window
      (complaint_window_days(), the registry's window of complaint_rate), and whether the order
      day has matured;
    - violating_gmv_share: the order's GMV in whole US cents and whether the ordered listing is
      a violating listing of the metric the registry links violating_gmv_share to
      (`numerator_actions` in metric_registry.yml: the listing_violation_rate flag of
      int_listing_enforcement_outcomes). -#}

{#- Incremental on DuckDB (nightly runs): re-processes whole order days,
    - those in the lookback window widened by the complaint window: a complaint filed in the
      lookback window counts only for an order placed at most that many days before it, so no
      older order day can change, however late complaints about older orders arrive
      (macros/incremental/windows.sql);
    - those not mature yet (is_mature flips as the reporting date advances; maturity only grows
      with the order day, so all days from the earliest immature one on);
    - the days of the orders whose listing's segment or seller int_listing_segments re-wrote
      since this model's latest build with other values, whose seller's type changed since, or
      whose listing's outcome the linked listing outcome model re-wrote with another flag (a
      listing action within its window, an overturn on appeal however late, a listing or seller
      delivered late or again; macros/incremental/changed_days.sql). -#}
{{ config(**incremental_by_key('ordered_date')) }}

{#- Read only to find the records changed since this model's latest build. #}
-- depends_on: {{ ref('base_marketplace__sellers') }}

{%- set cutoff_at = reporting_cutoff_at() %}
{%- set linked = metric_definition(metric_definition('violating_gmv_share').numerator_actions.metric) -%}
{%- if is_incremental() %}
    {%- set window_first_day = incremental_window_first_day('ordered_at', complaint_window_days()) -%}
    {%- set maturing_first_day = earliest_or_latest_day_in_this('min', 'ordered_date', 'not is_mature') -%}
    {%- set first_day = [window_first_day, maturing_first_day or window_first_day] | min -%}
    {%- set changed_sellers = record_keys_written_since_latest_build_of_this(ref('base_marketplace__sellers')) %}
    {%- set changed_days = days_of(
        'select facts.ordered_date as day from ' ~ this ~ ' as facts'
        ~ ' inner join ' ~ ref('int_listing_segments') ~ ' as segments'
        ~ ' on facts.listing_id = segments.listing_id'
        ~ ' where ' ~ written_since_latest_build_of_this('segments')
        ~ ' and (facts.region is distinct from segments.region'
        ~ ' or facts.category is distinct from segments.category'
        ~ ' or facts.seller_id is distinct from segments.seller_id)'
        ~ ' union all select facts.ordered_date as day from ' ~ this ~ ' as facts'
        ~ ' left join ' ~ ref('stg_marketplace__sellers') ~ ' as sellers'
        ~ ' on facts.seller_id = sellers.seller_id'
        ~ ' where facts.seller_id in (' ~ changed_sellers ~ ')'
        ~ ' and facts.seller_type is distinct from sellers.seller_type'
        ~ ' union all select facts.ordered_date as day from ' ~ this ~ ' as facts'
        ~ ' inner join ' ~ ref(linked.outcome.model) ~ ' as listing_outcomes'
        ~ ' on facts.listing_id = listing_outcomes.' ~ linked.outcome.key
        ~ ' where ' ~ written_since_latest_build_of_this('listing_outcomes')
        ~ ' and facts.is_on_violating_listing <> listing_outcomes.' ~ linked.outcome.flag
    ) %}
    {%- set reprocessed = '(ordered_at >= cast(cast(\'' ~ first_day ~ '\' as date) as '
        ~ dbt.type_timestamp() ~ ') or '
        ~ is_one_of_days('cast(ordered_at as date)', changed_days) ~ ')' %}
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

sellers as (

    select * from {{ ref('stg_marketplace__sellers') }}

),

listing_outcomes as (

    select * from {{ ref(linked.outcome.model) }}

),

maturity as (

    select * from {{ ref('int_metric_maturity') }}
    where metric_name = 'complaint_rate'

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

complaints_in_scope as (

    select
        complaints.order_id,
        complaints.created_at
    from complaints
    where
        complaints.order_id is not null
        and complaints.created_at < {{ cutoff_at }}

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
        listings.seller_id,
        listings.region,
        listings.category,
        sellers.seller_type,
        completed_orders.ordered_at,
        completed_orders.ordered_date,
        completed_orders.gmv_usd,
        coalesce(cast(round(completed_orders.gmv_usd * 100) as bigint), 0) as gmv_cents,
        complained_orders.order_id is not null as has_complaint_within_14d,
        coalesce(listing_outcomes.{{ linked.outcome.flag }}, false) as is_on_violating_listing,
        {{ cohort_status_columns('completed_orders.ordered_date') }}

    from completed_orders
    cross join maturity
    left join listings
        on completed_orders.listing_id = listings.listing_id
    left join sellers
        on listings.seller_id = sellers.seller_id
    left join listing_outcomes
        on completed_orders.listing_id = listing_outcomes.{{ linked.outcome.key }}
    left join complained_orders
        on completed_orders.order_id = complained_orders.order_id

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
    gmv_cents,
    has_complaint_within_14d,
    is_on_violating_listing,
    is_mature,
    is_complete,
    {{ build_started_at() }} as processed_at

from final
