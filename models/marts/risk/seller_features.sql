{#- One row per seller: profile, activity, enforcement history, identity-signal sharing and the
    confirmed-bad label. The seller-grain input of the risk model and of syndicate summaries;
    every figure is as of the reporting date.

    A view: seller_features_stored holds every column that something happening to the seller
    changes (kept by seller, night by night), and this view adds, when it is read, the two that
    change with the reporting date alone, tenure_days and is_label_mature. Stored, they would
    make every onboarded seller's row new every night. The reporting date is written in as a
    constant, so the view reads nothing but the stored table (in the published warehouse too). -#}
{{ config(materialized='view') }}

{%- set as_of_date = reporting_date() %}

with

stored as (

    select * from {{ ref('seller_features_stored') }}

)

select
    seller_id,
    region,
    primary_category,
    seller_type,
    registered_at,
    onboarded_at,
    case
        when onboarded_at is not null
            then cast(
                {{ dbt.datediff('onboarded_at', as_of_date, 'day') }}
                as {{ dbt.type_bigint() }}
            )
    end as tenure_days,
    hours_to_onboard,
    n_listings,
    n_violation_listings,
    n_low_quality_listings,
    listing_violation_share,
    low_quality_share,
    n_orders,
    n_completed_orders,
    n_refunded_orders,
    refund_share,
    completed_gmv_usd,
    n_complaints,
    n_serious_complaints,
    complaints_per_order,
    n_qa_checks,
    n_qa_violations,
    n_strategy_hits,
    n_warnings,
    n_signal_values,
    n_shared_device_ids,
    n_shared_bank_accounts,
    n_shared_phones,
    n_shared_addresses,
    n_shared_ip_addresses,
    max_sellers_per_strong_signal,
    first_activity_at,
    last_activity_at,
    is_enforced,
    first_removal_at,
    is_confirmed_bad,
    confirmed_bad_at,
    (
        onboarded_at is not null
        and {{ dbt.dateadd('day', 30, 'onboarded_at') }} <= {{ as_of_date }}
    ) as is_label_mature

from stored
