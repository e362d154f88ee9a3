{#- One row per seller: profile, activity, enforcement history, identity-signal sharing and the
    confirmed-bad label, as of the reporting date: every column of seller_features but those
    that change with the reporting date alone (tenure_days, is_label_mature), which the
    seller_features view adds when it is read. Read seller_features, not this table. -#}

{#- Incremental on DuckDB (nightly runs) by seller: re-writes, from its inputs, the rows of the
    sellers the night touched, after deleting them (macros/incremental/seller_aggregates.sql).
    Every row carries the start of the build that wrote it (`processed_at`). Without the two
    clock-driven columns a night touches the sellers that something happened to, not every
    onboarded seller. -#}
{{ config(**incremental_by_key('seller_id')) }}
{{ config(pre_hook=
    "{{ delete_rows_of_touched_sellers(sellers_touched_for_features() if is_incremental() else '') }}"
) }}

{#- Read only to find the sellers touched since this model's latest build. #}
-- depends_on: {{ ref('base_marketplace__sellers') }}
-- depends_on: {{ ref('base_marketplace__seller_identity_signals') }}
-- depends_on: {{ ref('stg_marketplace__seller_identity_signals') }}
-- depends_on: {{ ref('stg_marketplace__enforcement_actions') }}

{%- set is_touched = "in (select touched_sellers.seller_id from touched_sellers)" %}

with
{%- if is_incremental() %}

touched_sellers as (

    {{ sellers_touched_for_features() }}

),
{%- endif %}

sellers as (

    select * from {{ ref('stg_marketplace__sellers') }}

),

activity as (

    select * from {{ ref('int_seller_activity') }}

),

links as (

    select * from {{ ref('int_seller_identity_links') }}

),

actions as (

    select * from {{ ref('int_enforcement_actions_resolved') }}

),

as_of as (

    select * from {{ ref('int_as_of_date') }}

),

shared_signals as (

    select
        seller_id,
        count(distinct signal_value_hash) as n_signal_values,
        sum(case when signal_type = 'device_id' and n_sellers_sharing > 1 then 1 else 0 end)
            as n_shared_device_ids,
        sum(case when signal_type = 'bank_account' and n_sellers_sharing > 1 then 1 else 0 end)
            as n_shared_bank_accounts,
        sum(case when signal_type = 'phone' and n_sellers_sharing > 1 then 1 else 0 end)
            as n_shared_phones,
        sum(case when signal_type = 'address' and n_sellers_sharing > 1 then 1 else 0 end)
            as n_shared_addresses,
        sum(case when signal_type = 'ip_address' and n_sellers_sharing > 1 then 1 else 0 end)
            as n_shared_ip_addresses,
        max(
            case
                when signal_type in ('device_id', 'bank_account', 'phone') then n_sellers_sharing
                else 1
            end
        ) as max_sellers_per_strong_signal

    from links
    {%- if is_incremental() %}
    where seller_id {{ is_touched }}
    {%- endif %}
    group by seller_id

),

seller_removals as (

    select
        target_id as seller_id,
        min(acted_at) as first_removal_at,
        min(case when policy_severity in ('high', 'critical') then acted_at end)
            as confirmed_bad_at

    from actions
    where
        target_type = 'seller'
        and action_type in ('seller_suspension', 'seller_ban')
        and not is_overturned
    {% if is_incremental() -%}
        and target_id {{ is_touched }}
    {%- endif %}
    group by target_id

),

seller_warnings as (

    select
        target_id as seller_id,
        count(*) as n_warnings

    from actions
    where
        target_type = 'seller'
        and action_type = 'seller_warning'
        and not is_overturned
    {% if is_incremental() -%}
        and target_id {{ is_touched }}
    {%- endif %}
    group by target_id

),

joined as (

    select
        sellers.seller_id,
        sellers.region,
        sellers.primary_category,
        sellers.seller_type,
        sellers.registered_at,
        sellers.onboarded_at,
        activity.n_listings,
        activity.n_violation_listings,
        activity.n_low_quality_listings,
        activity.n_orders,
        activity.n_completed_orders,
        activity.n_refunded_orders,
        activity.completed_gmv_usd,
        activity.n_complaints,
        activity.n_serious_complaints,
        activity.n_qa_checks,
        activity.n_qa_violations,
        activity.n_strategy_hits,
        activity.first_listing_at,
        activity.last_listing_at,
        activity.last_order_at,
        seller_removals.first_removal_at,
        seller_removals.confirmed_bad_at,
        coalesce(seller_warnings.n_warnings, 0) as n_warnings,
        coalesce(shared_signals.n_signal_values, 0) as n_signal_values,
        coalesce(shared_signals.n_shared_device_ids, 0) as n_shared_device_ids,
        coalesce(shared_signals.n_shared_bank_accounts, 0) as n_shared_bank_accounts,
        coalesce(shared_signals.n_shared_phones, 0) as n_shared_phones,
        coalesce(shared_signals.n_shared_addresses, 0) as n_shared_addresses,
        coalesce(shared_signals.n_shared_ip_addresses, 0) as n_shared_ip_addresses,
        coalesce(shared_signals.max_sellers_per_strong_signal, 0)
            as max_sellers_per_strong_signal

    from sellers
    cross join as_of
    left join activity
        on sellers.seller_id = activity.seller_id
    left join shared_signals
        on sellers.seller_id = shared_signals.seller_id
    left join seller_removals
        on sellers.seller_id = seller_removals.seller_id
    left join seller_warnings
        on sellers.seller_id = seller_warnings.seller_id
    where
        sellers.registered_at < as_of.cutoff_at
    {% if is_incremental() -%}
        and sellers.seller_id {{ is_touched }}
    {%- endif %}

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
            then cast(floor(
                {{ dbt.datediff('registered_at', 'onboarded_at', 'second') }}
                / 3600.0
            ) as {{ dbt.type_bigint() }})
    end as hours_to_onboard,
    n_listings,
    cast(n_violation_listings as {{ dbt.type_bigint() }}) as n_violation_listings,
    cast(n_low_quality_listings as {{ dbt.type_bigint() }}) as n_low_quality_listings,
    cast(n_violation_listings as double) / nullif(n_listings, 0) as listing_violation_share,
    cast(n_low_quality_listings as double) / nullif(n_listings, 0) as low_quality_share,
    n_orders,
    cast(n_completed_orders as {{ dbt.type_bigint() }}) as n_completed_orders,
    cast(n_refunded_orders as {{ dbt.type_bigint() }}) as n_refunded_orders,
    cast(n_refunded_orders as double) / nullif(n_orders, 0) as refund_share,
    completed_gmv_usd,
    n_complaints,
    cast(n_serious_complaints as {{ dbt.type_bigint() }}) as n_serious_complaints,
    cast(n_complaints as double) / nullif(n_completed_orders, 0) as complaints_per_order,
    n_qa_checks,
    cast(n_qa_violations as {{ dbt.type_bigint() }}) as n_qa_violations,
    n_strategy_hits,
    n_warnings,
    n_signal_values,
    cast(n_shared_device_ids as {{ dbt.type_bigint() }}) as n_shared_device_ids,
    cast(n_shared_bank_accounts as {{ dbt.type_bigint() }}) as n_shared_bank_accounts,
    cast(n_shared_phones as {{ dbt.type_bigint() }}) as n_shared_phones,
    cast(n_shared_addresses as {{ dbt.type_bigint() }}) as n_shared_addresses,
    cast(n_shared_ip_addresses as {{ dbt.type_bigint() }}) as n_shared_ip_addresses,
    max_sellers_per_strong_signal,
    coalesce(first_listing_at, onboarded_at, registered_at) as first_activity_at,
    coalesce(greatest(last_listing_at, last_order_at), onboarded_at, registered_at)
        as last_activity_at,
    first_removal_at is not null as is_enforced,
    first_removal_at,
    confirmed_bad_at is not null as is_confirmed_bad,
    confirmed_bad_at,
    {{ build_started_at() }} as processed_at

from joined
