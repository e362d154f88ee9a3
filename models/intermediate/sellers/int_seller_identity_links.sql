{#- One row per seller and distinct identity-signal value (hashed), with how often and when it
    was observed and how many sellers share the value. The input of syndicate detection: a value
    shared by many sellers is a hub (a public IP, a co-working address), a value shared by a few
    is a link. -#}

{#- Incremental on DuckDB (nightly runs) by identity value: re-writes every row of the values
    whose staged observations changed since this model's latest build or that the reporting
    cutoff moved across, after deleting them (macros/incremental/identity_values.sql). Every row
    carries the start of the build that wrote it (`processed_at`). -#}
{{ config(
    pre_hook="{{ delete_identity_links_of_touched_values() }}",
    **incremental_by_key(['signal_type', 'signal_value_hash'])
) }}

{#- Read only to find the values changed since this model's latest build. #}
-- depends_on: {{ ref('base_marketplace__seller_identity_signals') }}

with

{%- if is_incremental() %}

touched_values as (

    {{ identity_values_touched_since_latest_build_of_this(
        ref('base_marketplace__seller_identity_signals')
    ) }}

),
{%- endif %}

signals as (

    select staged.*
    from {{ ref('stg_marketplace__seller_identity_signals') }} as staged
    {%- if is_incremental() %}
    inner join touched_values
        on
            staged.signal_type = touched_values.signal_type
            and staged.signal_value_hash = touched_values.signal_value_hash
    {%- endif %}

),

as_of as (

    select * from {{ ref('int_as_of_date') }}

),

per_seller_value as (

    select
        signals.seller_id,
        signals.signal_type,
        signals.signal_value_hash,
        count(*) as n_observations,
        min(signals.observed_at) as first_observed_at,
        max(signals.observed_at) as last_observed_at

    from signals
    cross join as_of
    where signals.observed_at < as_of.cutoff_at
    group by signals.seller_id, signals.signal_type, signals.signal_value_hash

),

value_share as (

    select
        signal_type,
        signal_value_hash,
        count(*) as n_sellers_sharing

    from per_seller_value
    group by signal_type, signal_value_hash

)

select
    per_seller_value.seller_id,
    per_seller_value.signal_type,
    per_seller_value.signal_value_hash,
    per_seller_value.n_observations,
    per_seller_value.first_observed_at,
    per_seller_value.last_observed_at,
    value_share.n_sellers_sharing,
    {{ build_started_at() }} as processed_at

from per_seller_value
inner join value_share
    on
        per_seller_value.signal_type = value_share.signal_type
        and per_seller_value.signal_value_hash = value_share.signal_value_hash
