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

maturity as (

    select * from {{ ref('int_metric_maturity') }}
    where metric_name = 'bad_seller_onboarding_rate'

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
        {{ cohort_status_columns('onboarding_outcomes.onboarded_date') }}

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
