{#- One row per listing created up to the reporting date, with whether it received a counted
    (not overturned) listing action within 7 days of creation, split by policy kind. Feeds
    listing_violation_rate and low_quality_listing_rate; which actions count is
    counted_action() (macros/metrics/metric_numerators.sql). -#}

{#- Incremental on DuckDB (nightly runs): re-processes whole creation days, those in the lookback
    window widened by the 7-day action window (an action taken in the lookback window counts
    only for a listing created at most 7 days before it), those of listings with an action
    overturned in the lookback window, however old (macros/incremental/windows.sql), and those
    int_listing_segments re-wrote since this model's latest build or no longer holds: a listing
    delivered late, again or with its seller's new region, or gone from its day
    (macros/incremental/reprocessed_days.sql, which its pre-hook deletes first). -#}
{{ config(**incremental_by_key('created_date')) }}
{{ config(pre_hook=
    "{{ delete_days_reprocessed(listing_outcome_days_reprocessed('created_date') if is_incremental() else '') }}"
) }}

with

listings as (

    select * from {{ ref('int_listing_segments') }}

),

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
        and {{ listing_outcome_days_reprocessed('listings.created_date') }}
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
