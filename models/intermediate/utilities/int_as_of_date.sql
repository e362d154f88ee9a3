{#- The reporting date of the build: var('as_of_date') when set, else the environment variable
    GOVERNANCE_AS_OF_DATE (set by the nightly run), else the latest listing creation date. Events after the end of this day are ignored by every metric, so a build
    with an earlier as_of_date reproduces the metrics as they stood then. -#}
{%- set as_of = validated_date_var('as_of_date', 'GOVERNANCE_AS_OF_DATE') -%}

with

listings as (

    select created_at from {{ ref('stg_marketplace__listings') }}

),

latest_listing as (

    select max(cast(created_at as date)) as latest_listing_date
    from listings

),

resolved as (

    select
        {% if as_of -%}
            cast('{{ as_of }}' as date)
        {%- else -%}
            latest_listing_date
        {%- endif %} as as_of_date

    from latest_listing

)

select
    as_of_date,
    cast({{ dbt.dateadd('day', 1, 'as_of_date') }} as {{ dbt.type_timestamp() }}) as cutoff_at

from resolved
