{#- Sample sizes of the day's random QA draw: one row per target type (new listings, newly
    onboarded sellers) and stratum (region × category) with what the queue day holds.

    Each stratum gets enough items a day that its prevalence interval over the trailing
    var('qa_prevalence_window_days') days has a half-width of about
    var('qa_prevalence_half_width'): n per window = z² p (1 − p) / h², spread over the window's
    days and kept between var('qa_min_per_stratum') and var('qa_max_per_stratum') (and never
    above the stratum's population). The planning prevalence p is the stratum's own rate among
    its recent random checks, shrunk towards the target type's overall rate with the weight of
    20 checks (so a stratum with few checks borrows strength) and held inside [0.02, 0.5]. -#}

{%- set half_width = validated_number_var('qa_prevalence_half_width', 0.001, 0.5) | float -%}
{%- set window_days = validated_number_var('qa_prevalence_window_days', 1, 365) | int -%}
{%- set min_per_stratum = validated_number_var('qa_min_per_stratum', 0, 100000) | int -%}
{%- set max_per_stratum = validated_number_var('qa_max_per_stratum', 1, 100000) | int -%}
{%- set z = validated_number_var('wilson_z', 0.0, 10.0) | float -%}
{%- if min_per_stratum > max_per_stratum -%}
    {{ exceptions.raise_compiler_error(
        "dbt var 'qa_min_per_stratum' (" ~ min_per_stratum ~ ") must not exceed 'qa_max_per_stratum' ("
        ~ max_per_stratum ~ ")"
    ) }}
{%- endif -%}
{%- set prior_checks = 20 -%}

with

listings as (

    select * from {{ ref('int_listing_segments') }}

),

sellers as (

    select * from {{ ref('stg_marketplace__sellers') }}

),

checks as (

    select * from {{ ref('stg_marketplace__qa_case_checks') }}

),

queue_day as (

    select * from {{ ref('int_qa_queue_day') }}

),

bounds as (

    select
        queue_date,
        day_start_at,
        day_end_at,
        cast({{ dbt.dateadd('day', -window_days, 'queue_date') }} as {{ dbt.type_timestamp() }})
            as window_start_at

    from queue_day

),

population as (

    select
        'listing' as target_type,
        coalesce(listings.region, 'UNKNOWN') as region,
        coalesce(listings.category, 'UNKNOWN') as category,
        count(*) as stratum_population

    from listings
    cross join bounds
    where
        bounds.day_start_at <= listings.created_at
        and listings.created_at < bounds.day_end_at
    group by coalesce(listings.region, 'UNKNOWN'), coalesce(listings.category, 'UNKNOWN')

    union all

    select
        'seller' as target_type,
        coalesce(sellers.region, 'UNKNOWN') as region,
        coalesce(sellers.primary_category, 'UNKNOWN') as category,
        count(*) as stratum_population

    from sellers
    cross join bounds
    where
        bounds.day_start_at <= sellers.onboarded_at
        and sellers.onboarded_at < bounds.day_end_at
    group by coalesce(sellers.region, 'UNKNOWN'), coalesce(sellers.primary_category, 'UNKNOWN')

),

recent_random_checks as (

    select
        checks.target_type,
        checks.is_violation,
        case
            when checks.target_type = 'listing' then coalesce(listings.region, 'UNKNOWN')
            else coalesce(sellers.region, 'UNKNOWN')
        end as region,
        case
            when checks.target_type = 'listing' then coalesce(listings.category, 'UNKNOWN')
            else coalesce(sellers.primary_category, 'UNKNOWN')
        end as category

    from checks
    cross join bounds
    left join listings
        on
            checks.target_type = 'listing'
            and checks.target_id = listings.listing_id
    left join sellers
        on
            checks.target_type = 'seller'
            and checks.target_id = sellers.seller_id
    where
        checks.sample_type = 'random'
        and bounds.window_start_at <= checks.checked_at
        and checks.checked_at < bounds.day_start_at

),

stratum_history as (

    select
        target_type,
        region,
        category,
        count(*) as n_recent_checks,
        sum(case when is_violation then 1 else 0 end) as n_recent_violations

    from recent_random_checks
    group by target_type, region, category

),

overall_history as (

    select
        target_type,
        cast(sum(case when is_violation then 1 else 0 end) as double) / count(*) as overall_prevalence

    from recent_random_checks
    group by target_type

),

planned as (

    select
        population.target_type,
        population.region,
        population.category,
        population.stratum_population,
        coalesce(stratum_history.n_recent_checks, 0) as n_recent_checks,
        coalesce(stratum_history.n_recent_violations, 0) as n_recent_violations,
        least(
            0.5,
            greatest(
                0.02,
                (
                    coalesce(stratum_history.n_recent_violations, 0)
                    + {{ prior_checks }} * coalesce(overall_history.overall_prevalence, 0.5)
                )
                / (coalesce(stratum_history.n_recent_checks, 0) + {{ prior_checks }})
            )
        ) as planning_prevalence

    from population
    left join stratum_history
        on
            population.target_type = stratum_history.target_type
            and population.region = stratum_history.region
            and population.category = stratum_history.category
    left join overall_history
        on population.target_type = overall_history.target_type

),

sized as (

    select
        planned.*,
        ceiling(
            {{ z }} * {{ z }} * planned.planning_prevalence * (1 - planned.planning_prevalence)
            / ({{ half_width }} * {{ half_width }})
        ) as checks_needed_per_window

    from planned

)

select
    bounds.queue_date,
    sized.target_type,
    sized.region,
    sized.category,
    sized.stratum_population,
    sized.n_recent_checks,
    sized.n_recent_violations,
    sized.planning_prevalence,
    sized.checks_needed_per_window,
    cast(
        least(
            sized.stratum_population,
            greatest(
                {{ min_per_stratum }},
                least({{ max_per_stratum }}, ceiling(sized.checks_needed_per_window / {{ window_days }}.0))
            )
        ) as integer
    ) as stratum_sample_size

from sized
cross join bounds
