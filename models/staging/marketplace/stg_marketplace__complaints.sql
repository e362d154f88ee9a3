with

source as (

    select * from {{ source('marketplace', 'complaints') }}

),

renamed as (

    select
        cast(complaint_id as {{ dbt.type_string() }}) as complaint_id,
        cast(order_id as {{ dbt.type_string() }}) as order_id,
        cast(listing_id as {{ dbt.type_string() }}) as listing_id,
        cast(seller_id as {{ dbt.type_string() }}) as seller_id,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(reason as {{ dbt.type_string() }}) as reason

    from source

),

ranked as (

    select
        *,
        row_number() over (
            partition by complaint_id
            order by created_at desc, listing_id asc, reason asc
        ) as version_rank

    from renamed

)

select
    complaint_id,
    order_id,
    listing_id,
    seller_id,
    created_at,
    reason

from ranked
where version_rank = 1
