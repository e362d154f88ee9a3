{#- One row per listing created up to the reporting date, with whether it received a counted
    (not overturned) listing action within 7 days of creation, split by policy kind. Feeds
    listing_violation_rate and low_quality_listing_rate; which actions count is
    counted_action() (macros/metrics/metric_numerators.sql). -#}

{#- Incremental on DuckDB (nightly runs): re-processes whole creation days, those in the lookback
    window widened by the 7-day action window (an action taken in the lookback window counts
    only for a listing created at most 7 days before it), those of listings with an action
    overturned in the lookback window, however old (macros/incremental/windows.sql), and those
    int_listing_segments re-wrote since this model's latest build: a listing delivered late,
    again or with its seller's new region (macros/incremental/changed_days.sql). -#}
{{ config(**incremental_by_key('created_date')) }}

{%- if is_incremental() %}
    {%- set overturns_from = incremental_window_start('created_at') %}
    {%- set created_from = incremental_window_start('created_at', listing_action_window_days()) %}
    {%- set changed_segment_days = days_of(
        'select segments.created_date as day from ' ~ ref('int_listing_segments') ~ ' as segments'
        ~ ' where ' ~ written_since_latest_build_of_this('segments')
    ) %}
{%- endif %}

with

listings as (

    select * from {{ ref('int_listing_segments') }}

),

{% if is_incremental() -%}
{# The listings again, read on their own for the creation days to re-process (as order_times in
    fct_completed_orders: a CTE read twice may be materialised whole). #}
listing_days as (

    select
        listing_id,
        created_at
    from {{ ref('int_listing_segments') }}

),
{%- endif %}

actions as (

    select * from {{ ref('int_enforcement_actions_resolved') }}

),

as_of as (

    select * from {{ ref('int_as_of_date') }}

),

listings_in_scope as (

    select listings.*
    from listings
    cross join as_of
    where
        listings.created_at < as_of.cutoff_at
    {% if is_incremental() -%}
        and (
            listings.created_at >= cast({{ created_from }} as {{ dbt.type_timestamp() }})
            or {{ is_one_of_days('cast(listings.created_at as date)', changed_segment_days) }}
            or cast(listings.created_at as date) in (
                select cast(overturned_listings.created_at as date)
                from listing_days as overturned_listings
                where overturned_listings.listing_id in (
                    select recent_overturns.target_id
                    from actions as recent_overturns
                    where
                        recent_overturns.target_type = 'listing'
                        and cast(recent_overturns.overturned_at as date)
                        >= {{ overturns_from }}
                )
            )
        )
    {%- endif %}

),

counted_listing_actions as (

    select
        actions.target_id as listing_id,
        actions.acted_at,
        {{ counted_action('listing_violation_rate', 'actions') }} as counts_as_violation,
        {{ counted_action('low_quality_listing_rate', 'actions') }} as counts_as_low_quality

    from actions
    where
        not actions.is_overturned
        and (
            {{ counted_action('listing_violation_rate', 'actions') }}
            or {{ counted_action('low_quality_listing_rate', 'actions') }}
        )

),

actions_in_window as (

    select
        listings_in_scope.listing_id,
        max(case when counted_listing_actions.counts_as_violation then 1 else 0 end)
            as has_violation_action,
        max(case when counted_listing_actions.counts_as_low_quality then 1 else 0 end)
            as has_low_quality_action

    from listings_in_scope
    inner join counted_listing_actions
        on
            listings_in_scope.listing_id = counted_listing_actions.listing_id
            and listings_in_scope.created_at <= counted_listing_actions.acted_at
            and counted_listing_actions.acted_at
            <= {{ dbt.dateadd('day', listing_action_window_days(), 'listings_in_scope.created_at') }}
    group by listings_in_scope.listing_id

)

select
    listings_in_scope.listing_id,
    listings_in_scope.seller_id,
    listings_in_scope.region,
    listings_in_scope.category,
    listings_in_scope.created_at,
    cast(listings_in_scope.created_at as date) as created_date,
    coalesce(actions_in_window.has_violation_action, 0) = 1 as is_violation_within_7d,
    coalesce(actions_in_window.has_low_quality_action, 0) = 1 as is_low_quality_within_7d,
    {{ build_started_at() }} as processed_at

from listings_in_scope
left join actions_in_window
    on listings_in_scope.listing_id = actions_in_window.listing_id
