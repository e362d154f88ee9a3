with

source as (

    select * from {{ source('marketplace', 'seller_identity_signals') }}

),

renamed as (

    select
        cast(seller_id as {{ dbt.type_string() }}) as seller_id,
        cast(signal_type as {{ dbt.type_string() }}) as signal_type,
        {{ hash_pii('signal_value') }} as signal_value_hash,
        cast(observed_at as {{ dbt.type_timestamp() }}) as observed_at

    from source

),

deduplicated as (

    select distinct
        seller_id,
        signal_type,
        signal_value_hash,
        observed_at

    from renamed

)

select
    {{ dbt.hash(dbt.concat([
        "seller_id", "'|'", "signal_type", "'|'", "signal_value_hash", "'|'",
        dbt.cast("observed_at", dbt.type_string())
    ])) }} as signal_observation_id,
    seller_id,
    signal_type,
    signal_value_hash,
    observed_at

from deduplicated
