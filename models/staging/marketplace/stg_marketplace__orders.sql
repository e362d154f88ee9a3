with

source as (

    select * from {{ source('marketplace', 'orders') }}

),

renamed as (

    select
        cast(order_id as {{ dbt.type_string() }}) as order_id,
        cast(listing_id as {{ dbt.type_string() }}) as listing_id,
        cast(seller_id as {{ dbt.type_string() }}) as seller_id,
        cast(buyer_id as {{ dbt.type_string() }}) as buyer_id,
        cast(ordered_at as {{ dbt.type_timestamp() }}) as ordered_at,
        cast(gmv_usd as double) as gmv_usd,
        cast(order_status as {{ dbt.type_string() }}) as order_status

    from source

),

ranked as (

    select
        *,
        row_number() over (
            partition by order_id
            order by ordered_at desc, listing_id asc, order_status asc
        ) as version_rank

    from renamed

)

select
    order_id,
    listing_id,
    seller_id,
    buyer_id,
    ordered_at,
    gmv_usd,
    order_status

from ranked
where version_rank = 1
