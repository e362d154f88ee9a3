{#- The days a nightly run of each model kept by whole days (incremental_by_key(<a day column>))
    re-processes, as one SQL condition on a day that the model's body filters its records with
    and its pre-hook deletes with. dbt's delete+insert deletes only the days the new batch holds:
    a day the night re-processes where no row remains (its only order cancelled or delivered
    again with another day, its only listing quarantined or moved to another day) would keep
    its rows, and the night would differ from a full rebuild. So each such model deletes its
    whole day set first (pre-hook delete_days_reprocessed()), from the same macro as its body.
    Both read the days when they start, before the pre-hook deletes anything, from the same
    rows: the same set.
    A day an upstream day-kept model emptied holds none of its rows written since: a model
    reading it also re-processes the days it holds that the upstream model no longer has
    (days_of_this_gone_from(), macros/incremental/changed_days.sql). -#}


{#- Pre-hook of a model kept by whole days: on an incremental run, deletes the rows of the days
    `days_condition` selects (the model's macro below, called only on an incremental run: none
    on a full build, which deletes nothing). -#}
{% macro delete_days_reprocessed(days_condition) -%}
    {%- if is_incremental() and days_condition -%}
        delete from {{ this }} where {{ days_condition }}
    {%- endif -%}
{%- endmacro %}


{#- int_listing_segments: the creation days of the listings whose staged record changed since
    its latest build (a new, re-delivered or late listing, the version it replaced, an orphan
    whose seller arrived: both its old and its new creation day) and those of the listings whose
    seller's region changed. -#}
{% macro listing_segment_days_reprocessed(day_expression) -%}
    {%- set changed_listings = record_keys_written_since_latest_build_of_this(ref('base_marketplace__listings')) %}
    {%- set changed_sellers = record_keys_written_since_latest_build_of_this(ref('base_marketplace__sellers')) %}
    {%- set days = days_of(
        'select cast(listing_rows.created_at as date) as day from '
        ~ ref('base_marketplace__listings') ~ ' as listing_rows where '
        ~ written_since_latest_build_of_this('listing_rows')
        ~ ' union all select segments.created_date as day from ' ~ this ~ ' as segments'
        ~ ' where segments.listing_id in (' ~ changed_listings ~ ')'
        ~ ' union all select segments.created_date as day from ' ~ this ~ ' as segments'
        ~ ' left join ' ~ ref('stg_marketplace__sellers') ~ ' as sellers'
        ~ ' on segments.seller_id = sellers.seller_id'
        ~ ' where segments.seller_id in (' ~ changed_sellers ~ ')'
        ~ ' and segments.region is distinct from sellers.region'
    ) %}
    {{- return(is_one_of_days(day_expression, days)) }}
{%- endmacro %}


{#- int_listing_enforcement_outcomes: the creation days in the lookback window widened by the
    listing action window (an action taken in the lookback window counts only for a listing
    created at most that many days before it), those of listings with an action overturned in
    the lookback window, however old (macros/incremental/windows.sql), those int_listing_segments
    re-wrote since this model's latest build (a listing delivered late, again or with its
    seller's new region) and those it no longer holds. -#}
{% macro listing_outcome_days_reprocessed(day_expression) -%}
    {%- set segments = ref('int_listing_segments') %}
    {%- set overturns_from = incremental_window_start('created_at') %}
    {%- set created_from = incremental_window_start('created_at', listing_action_window_days()) %}
    {%- set changed_segment_days = days_of(
        'select segments.created_date as day from ' ~ segments ~ ' as segments'
        ~ ' where ' ~ written_since_latest_build_of_this('segments')
    ) + days_of_this_gone_from(segments, 'created_date', 'created_date') %}
    {%- set condition -%}
        (
            {{ day_expression }} >= {{ created_from }}
            or {{ is_one_of_days(day_expression, changed_segment_days) }}
            or {{ day_expression }} in (
                select overturned_listings.created_date
                from {{ segments }} as overturned_listings
                where overturned_listings.listing_id in (
                    select recent_overturns.target_id
                    from {{ ref('int_enforcement_actions_resolved') }} as recent_overturns
                    where
                        recent_overturns.target_type = 'listing'
                        and cast(recent_overturns.overturned_at as date) >= {{ overturns_from }}
                )
            )
        )
    {%- endset %}
    {{- return(condition) }}
{%- endmacro %}


{#- fct_listing_outcomes: the creation days the outcome model re-wrote since this model's latest
    build or no longer holds, those whose cohort flags the new reporting date or coverage start
    changes (is_mature flips as the reporting date advances), and those of the listings whose
    seller's type changed since. -#}
{% macro listing_fact_days_reprocessed(day_expression) -%}
    {%- set outcomes = ref('int_listing_enforcement_outcomes') %}
    {%- set changed_sellers = record_keys_written_since_latest_build_of_this(ref('base_marketplace__sellers')) %}
    {%- set cohort_status -%}
        select
            facts.created_date,
            facts.is_mature as was_mature,
            facts.is_complete as was_complete,
            {{ cohort_status_columns('facts.created_date') }}
        from {{ this }} as facts
        cross join {{ ref('int_metric_maturity') }} as maturity
        where maturity.metric_name = 'listing_violation_rate'
    {%- endset %}
    {%- set days = days_of(
        'select listing_outcomes.created_date as day from '
        ~ outcomes ~ ' as listing_outcomes where '
        ~ written_since_latest_build_of_this('listing_outcomes')
        ~ ' union all select created_date as day from (' ~ cohort_status ~ ') as cohorts'
        ~ ' where was_mature <> is_mature or was_complete <> is_complete'
        ~ ' union all select facts.created_date as day from ' ~ this ~ ' as facts'
        ~ ' left join ' ~ ref('stg_marketplace__sellers') ~ ' as sellers'
        ~ ' on facts.seller_id = sellers.seller_id'
        ~ ' where facts.seller_id in (' ~ changed_sellers ~ ')'
        ~ ' and facts.seller_type is distinct from sellers.seller_type'
    ) + days_of_this_gone_from(outcomes, 'created_date', 'created_date') %}
    {{- return(is_one_of_days(day_expression, days)) }}
{%- endmacro %}
