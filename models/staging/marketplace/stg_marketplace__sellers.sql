with

source as (

    select * from {{ source('marketplace', 'sellers') }}

),

renamed as (

    select
        cast(seller_id as {{ dbt.type_string() }}) as seller_id,
        cast(registered_at as {{ dbt.type_timestamp() }}) as registered_at,
        cast(onboarded_at as {{ dbt.type_timestamp() }}) as onboarded_at,
        cast(region as {{ dbt.type_string() }}) as region,
        cast(seller_type as {{ dbt.type_string() }}) as seller_type,
        cast(primary_category as {{ dbt.type_string() }}) as primary_category,
        {{ hash_pii('legal_name') }} as legal_name_hash,
        {{ hash_pii('email') }} as email_hash,
        {{ hash_pii('phone') }} as phone_hash

    from source

),

ranked as (

    select
        *,
        row_number() over (
            partition by seller_id
            order by registered_at desc, onboarded_at desc, region asc, primary_category asc
        ) as version_rank

    from renamed

)

select
    seller_id,
    registered_at,
    onboarded_at,
    region,
    seller_type,
    primary_category,
    legal_name_hash,
    email_hash,
    phone_hash,
    onboarded_at is not null as is_onboarded

from ranked
where version_rank = 1
