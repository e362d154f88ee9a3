{#- One row per seller onboarded up to the reporting date, with whether a counted (not
    overturned) suspension or ban for a high or critical policy followed within 30 days (the
    metric's window_days in the metric registry). Feeds bad_seller_onboarding_rate; which actions
    count is counted_action() (macros/metrics/metric_numerators.sql). -#}

{%- set window_days = metric_window_days('bad_seller_onboarding_rate') %}

with

sellers as (

    select * from {{ ref('stg_marketplace__sellers') }}

),

actions as (

    select * from {{ ref('int_enforcement_actions_resolved') }}

),

as_of as (

    select * from {{ ref('int_as_of_date') }}

),

onboarded_sellers as (

    select sellers.*
    from sellers
    cross join as_of
    where
        sellers.onboarded_at is not null
        and sellers.onboarded_at < as_of.cutoff_at

),

counted_seller_removals as (

    select
        actions.target_id as seller_id,
        actions.acted_at

    from actions
    where
        {{ counted_action('bad_seller_onboarding_rate', 'actions') }}
        and not actions.is_overturned

),

removals_in_window as (

    select
        onboarded_sellers.seller_id,
        min(counted_seller_removals.acted_at) as first_removal_at

    from onboarded_sellers
    inner join counted_seller_removals
        on
            onboarded_sellers.seller_id = counted_seller_removals.seller_id
            and onboarded_sellers.onboarded_at <= counted_seller_removals.acted_at
            and counted_seller_removals.acted_at
            <= {{ dbt.dateadd('day', window_days, 'onboarded_sellers.onboarded_at') }}
    group by onboarded_sellers.seller_id

)

select
    onboarded_sellers.seller_id,
    onboarded_sellers.region,
    onboarded_sellers.primary_category as category,
    onboarded_sellers.onboarded_at,
    cast(onboarded_sellers.onboarded_at as date) as onboarded_date,
    removals_in_window.first_removal_at,
    removals_in_window.seller_id is not null as is_bad_within_30d

from onboarded_sellers
left join removals_in_window
    on onboarded_sellers.seller_id = removals_in_window.seller_id
