{#- Public record-grain fact behind bad_seller_onboarding_rate: one row per seller onboarded up
    to the reporting date, with the seller's segment and type, the 30-day outcome and whether
    the onboarding day has matured. The outcome definition lives in
    int_seller_onboarding_outcomes; this model only adds dimensions. -#}

with

onboarding_outcomes as (

    select * from {{ ref('int_seller_onboarding_outcomes') }}

),

sellers as (

    select * from {{ ref('stg_marketplace__sellers') }}

),

metric_definitions as (

    select * from {{ ref('metric_definitions') }}

),

as_of as (

    select * from {{ ref('int_as_of_date') }}

),

source_coverage as (

    select * from {{ ref('int_source_coverage') }}

),

maturity as (

    select
        metric_definitions.maturity_days,
        as_of.as_of_date,
        source_coverage.coverage_start_date

    from metric_definitions
    left join source_coverage
        on metric_definitions.outcome_source = source_coverage.source_name
    cross join as_of
    where metric_definitions.metric_name = 'bad_seller_onboarding_rate'

),

final as (

    select
        onboarding_outcomes.seller_id,
        onboarding_outcomes.region,
        onboarding_outcomes.category,
        sellers.seller_type,
        onboarding_outcomes.onboarded_at,
        onboarding_outcomes.onboarded_date,
        onboarding_outcomes.first_removal_at,
        onboarding_outcomes.is_bad_within_30d,
        {{ dbt.dateadd('day', 'maturity.maturity_days', 'onboarding_outcomes.onboarded_date') }}
        <= maturity.as_of_date as is_mature,
        coalesce(onboarding_outcomes.onboarded_date >= maturity.coverage_start_date, false) as is_complete

    from onboarding_outcomes
    cross join maturity
    left join sellers
        on onboarding_outcomes.seller_id = sellers.seller_id

)

select
    seller_id,
    region,
    category,
    seller_type,
    onboarded_at,
    onboarded_date,
    first_removal_at,
    is_bad_within_30d,
    is_mature,
    is_complete

from final
