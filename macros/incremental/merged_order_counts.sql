{#- Nightly runs of int_seller_activity: its order counts merged instead of re-counted. A seller's
    counts (orders, completed, refunded, completed GMV) are sums over the orders counted, so the
    new value is the stored one, plus the orders counted now among those the night changed, minus
    those it counted before among them; the latest order time is the greater of the stored one
    and the latest order added, unless an order no longer counted held it, when it is re-read
    from every order of those sellers alone. The orders a night changed are the rows of
    base_marketplace__orders written since this model's latest build (a `processed_at` later than
    it: zone maps skip every older row group), each with its disposition now and before the night
    (`disposition_before`: a version a re-delivery supersedes, an orphan whose parent arrived), and
    the orders the reporting cutoff moved past (their `ordered_at` between the latest event time
    this model holds and the cutoff, as in macros/incremental/seller_aggregates.sql). An order was
    counted if it was staged and placed no later than the latest event time this model holds
    (every counted event was before the previous cutoff, and an event before that cutoff was
    counted). Amounts are exact when GMV values are whole cents, as the raw contract's are. -#}


{#- Whether this run can merge the order counts: an incremental run whose cutoff did not move
    back (no event this model holds is at or after it), after one build of the orders base model
    that left rows of earlier builds (a full refresh of the orders alone, or two builds since this
    model's latest one, would leave `disposition_before` saying nothing of what was counted).
    False when dbt is parsing. Only valid inside `{% if is_incremental() %}`. -#}
{% macro order_counts_can_be_merged() -%}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set orders = ref('base_marketplace__orders') -%}
    {%- set written_since = latest_build_of_this() -%}
    {%- set verdict = run_query(
        'select ' ~ latest_time_in_this('last_event_at') ~ ' < ' ~ reporting_cutoff_at()
        ~ ' and exists (select 1 from ' ~ orders ~ ' as kept where kept.processed_at <= ' ~ written_since ~ ')'
        ~ ' and (select count(distinct written.processed_at) from ' ~ orders ~ ' as written'
        ~ ' where written.processed_at > ' ~ written_since ~ ') <= 1'
    ).columns[0].values()[0] -%}
    {{ return(verdict is true) }}
{%- endmacro %}


{#- A query of the orders whose counting changed since this model's latest build: one row per
    order counted now (`sign` 1) or no longer (`sign` -1), with its seller, status, GMV and time. -#}
{% macro order_count_changes() -%}
    {%- set orders = ref('base_marketplace__orders') -%}
    {%- set written_since = latest_build_of_this() -%}
    {%- set latest_held = latest_time_in_this('last_event_at') -%}
    {%- set cutoff_at = reporting_cutoff_at() -%}
    select written.seller_id, 1 as sign, written.order_status, written.gmv_usd, written.ordered_at
    from {{ orders }} as written
    where
        written.processed_at > {{ written_since }}
        and written.disposition = 'staged'
        and written.ordered_at < {{ cutoff_at }}
    union all
    select written.seller_id, -1 as sign, written.order_status, written.gmv_usd, written.ordered_at
    from {{ orders }} as written
    where
        written.processed_at > {{ written_since }}
        and written.disposition_before = 'staged'
        and written.ordered_at <= {{ latest_held }}
    union all
    select crossed.seller_id, 1 as sign, crossed.order_status, crossed.gmv_usd, crossed.ordered_at
    from {{ orders }} as crossed
    where
        crossed.processed_at <= {{ written_since }}
        and crossed.disposition = 'staged'
        and crossed.ordered_at > {{ latest_held }}
        and crossed.ordered_at < {{ cutoff_at }}
{%- endmacro %}


{#- A query of the order counts' changes per seller (`seller_id`): the changes of the counts and
    of the completed GMV, and the latest order time added and removed. -#}
{% macro order_count_deltas() -%}
    select
        changes.seller_id,
        sum(changes.sign) as n_orders,
        sum(case when changes.order_status = 'completed' then changes.sign else 0 end)
            as n_completed_orders,
        sum(case when changes.order_status = 'refunded' then changes.sign else 0 end)
            as n_refunded_orders,
        sum(case when changes.order_status = 'completed' then changes.sign * changes.gmv_usd else 0 end)
            as completed_gmv_usd,
        max(case when changes.sign > 0 then changes.ordered_at end) as last_added_order_at,
        max(case when changes.sign < 0 then changes.ordered_at end) as last_removed_order_at
    from ({{ order_count_changes() }}) as changes
    group by changes.seller_id
{%- endmacro %}


{#- A query of the sellers (`seller_id`) whose latest order is no longer counted and no order
    added is as late: their latest order time is read again from their orders. -#}
{% macro sellers_losing_their_latest_order() -%}
    select deltas.seller_id
    from ({{ order_count_deltas() }}) as deltas
    inner join {{ this }} as stored
        on deltas.seller_id = stored.seller_id
    where
        deltas.last_removed_order_at >= stored.last_order_at
        and (
            deltas.last_added_order_at is null
            or deltas.last_added_order_at < stored.last_order_at
        )
{%- endmacro %}


{#- The CTEs ending in `merged_order_counts` (seller_id, n_orders, n_completed_orders, n_refunded_orders,
    completed_gmv_usd, last_order_at) of the sellers `is_touched` names, merged. Expects the CTE
    `touched_sellers`; the orders are read again only for the sellers losing their latest order,
    and only when there are any (read when the run starts). -#}
{% macro merged_order_counts(is_touched) -%}
    {%- set any_losing = execute and run_query(
        'select count(*) from (' ~ sellers_losing_their_latest_order() ~ ') as losing'
    ).columns[0].values()[0] > 0 -%}
order_deltas as (

    {{ order_count_deltas() }}

),

stored_order_counts as (

    select
        stored.seller_id,
        stored.n_orders,
        stored.n_completed_orders,
        stored.n_refunded_orders,
        stored.completed_gmv_usd,
        stored.last_order_at

    from {{ this }} as stored
    where stored.seller_id {{ is_touched }}

),
{%- if any_losing %}

sellers_losing_their_latest_order as (

    {{ sellers_losing_their_latest_order() }}

),

latest_orders_read_again as (

    select
        orders.seller_id,
        max(orders.ordered_at) as last_order_at

    from orders
    where
        orders.ordered_at < {{ reporting_cutoff_at() }}
        and orders.seller_id in (
            select losing.seller_id from sellers_losing_their_latest_order as losing
        )
    group by orders.seller_id

),
{%- endif %}

merged_order_counts as (

    select
        touched_sellers.seller_id,
        {#- A count, as count(*) in a full build gives it (a sum is wider on DuckDB). #}
        cast(
            coalesce(stored_order_counts.n_orders, 0) + coalesce(order_deltas.n_orders, 0)
            as {{ dbt.type_bigint() }}
        ) as n_orders,
        coalesce(stored_order_counts.n_completed_orders, 0)
        + coalesce(order_deltas.n_completed_orders, 0) as n_completed_orders,
        coalesce(stored_order_counts.n_refunded_orders, 0)
        + coalesce(order_deltas.n_refunded_orders, 0) as n_refunded_orders,
        round(
            coalesce(stored_order_counts.completed_gmv_usd, 0)
            + coalesce(order_deltas.completed_gmv_usd, 0),
            2
        ) as completed_gmv_usd,
        {%- if any_losing %}
        case
            when latest_orders_read_again.seller_id is not null
                then latest_orders_read_again.last_order_at
            when sellers_losing_their_latest_order.seller_id is not null then null
            else greatest(stored_order_counts.last_order_at, order_deltas.last_added_order_at)
        end as last_order_at
        {%- else %}
        greatest(stored_order_counts.last_order_at, order_deltas.last_added_order_at)
            as last_order_at
        {%- endif %}

    from touched_sellers
    left join stored_order_counts
        on touched_sellers.seller_id = stored_order_counts.seller_id
    left join order_deltas
        on touched_sellers.seller_id = order_deltas.seller_id
    {%- if any_losing %}
    left join sellers_losing_their_latest_order
        on touched_sellers.seller_id = sellers_losing_their_latest_order.seller_id
    left join latest_orders_read_again
        on touched_sellers.seller_id = latest_orders_read_again.seller_id
    {%- endif %}

),
{%- endmacro %}
