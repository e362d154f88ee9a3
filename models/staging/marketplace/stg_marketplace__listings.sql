with

source as (

    select * from {{ source('marketplace', 'listings') }}

),

renamed as (

    select
        cast(listing_id as {{ dbt.type_string() }}) as listing_id,
        cast(seller_id as {{ dbt.type_string() }}) as seller_id,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(category as {{ dbt.type_string() }}) as category,
        cast(title as {{ dbt.type_string() }}) as title,
        cast(price_usd as double) as price_usd,
        cast(image_count as {{ dbt.type_int() }}) as image_count,
        cast(description_length as {{ dbt.type_int() }}) as description_length

    from source

),

ranked as (

    select
        *,
        row_number() over (
            partition by listing_id
            order by created_at desc, seller_id asc, category asc, price_usd asc
        ) as version_rank

    from renamed

)

select
    listing_id,
    seller_id,
    created_at,
    category,
    title,
    price_usd,
    image_count,
    description_length

from ranked
where version_rank = 1
