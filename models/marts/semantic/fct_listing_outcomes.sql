{#- Public record-grain fact behind listing_violation_rate and low_quality_listing_rate: one row
    per listing created up to the reporting date, with its segment, its seller's type, its
    7-day enforcement outcomes and whether its cohort day has matured. The outcome definitions
    live in int_listing_enforcement_outcomes; this model only adds dimensions. -#}

{#- Incremental on DuckDB (nightly runs): re-processes whole creation days, those the outcome
    fact re-wrote since this model's latest build or no longer holds, those whose cohort flags
    the new reporting date or coverage start changes (is_mature flips as the reporting date
    advances), and those of the listings whose seller's type changed since
    (macros/incremental/reprocessed_days.sql, which its pre-hook deletes first). -#}
{{ config(**incremental_by_key('created_date')) }}
{{ config(pre_hook=
    "{{ delete_days_reprocessed(listing_fact_days_reprocessed('created_date') if is_incremental() else '') }}"
) }}

{#- Read only to find the records changed since this model's latest build. #}
-- depends_on: {{ ref('base_marketplace__sellers') }}

with

listing_outcomes as (

    select * from {{ ref('int_listing_enforcement_outcomes') }}
    {%- if is_incremental() %}
    where {{ listing_fact_days_reprocessed('created_date') }}
    {%- endif %}

),

sellers as (

    select * from {{ ref('stg_marketplace__sellers') }}

),

maturity as (

    select * from {{ ref('int_metric_maturity') }}
    where metric_name = 'listing_violation_rate'

),

final as (

    select
        listing_outcomes.listing_id,
        listing_outcomes.seller_id,
        listing_outcomes.region,
        listing_outcomes.category,
        sellers.seller_type,
        listing_outcomes.created_at,
        listing_outcomes.created_date,
        listing_outcomes.is_violation_within_7d,
        listing_outcomes.is_low_quality_within_7d,
        {{ cohort_status_columns('listing_outcomes.created_date') }}

    from listing_outcomes
    cross join maturity
    left join sellers
        on listing_outcomes.seller_id = sellers.seller_id

)

select
    listing_id,
    seller_id,
    region,
    category,
    seller_type,
    created_at,
    created_date,
    is_violation_within_7d,
    is_low_quality_within_7d,
    is_mature,
    is_complete,
    {{ build_started_at() }} as processed_at

from final
