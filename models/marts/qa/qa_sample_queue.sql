{#- The day's QA case-check queue: one row per item to review.

    - `random` items: a stratified random sample of the listings created and the sellers
      onboarded on the queue day, stratum = region × category, sized by int_qa_stratum_plan.
    - `flagged` items: per strategy, a random sample of the distinct targets it hit that day,
      sized by int_qa_flagged_plan (more for shadow-mode, new and recently changed strategies).

    Within a stratum (or a strategy) items are ranked by a hash of the queue day and the item's
    id and the first n are taken: a simple random sample without replacement, the same on every
    rebuild of the same day and different from one day to the next. Each item carries its
    inclusion probability (n / N of its stratum) and sampling weight (N / n), so weighted
    estimates of prevalence and precision stay unbiased. -#}

with

queue_day as (

    select * from {{ ref('int_qa_queue_day') }}

),

stratum_plan as (

    select * from {{ ref('int_qa_stratum_plan') }}

),

flagged_plan as (

    select * from {{ ref('int_qa_flagged_plan') }}

),

listings as (

    select * from {{ ref('int_listing_segments') }}

),

sellers as (

    select * from {{ ref('stg_marketplace__sellers') }}

),

hits as (

    select * from {{ ref('int_strategy_hits_enriched') }}

),

random_candidates as (

    select
        'listing' as target_type,
        listings.listing_id as target_id,
        listings.seller_id,
        coalesce(listings.region, 'UNKNOWN') as region,
        coalesce(listings.category, 'UNKNOWN') as category,
        queue_day.queue_date

    from listings
    cross join queue_day
    where
        queue_day.day_start_at <= listings.created_at
        and listings.created_at < queue_day.day_end_at

    union all

    select
        'seller' as target_type,
        sellers.seller_id as target_id,
        sellers.seller_id,
        coalesce(sellers.region, 'UNKNOWN') as region,
        coalesce(sellers.primary_category, 'UNKNOWN') as category,
        queue_day.queue_date

    from sellers
    cross join queue_day
    where
        queue_day.day_start_at <= sellers.onboarded_at
        and sellers.onboarded_at < queue_day.day_end_at

),

random_ranked as (

    select
        random_candidates.target_type,
        random_candidates.target_id,
        random_candidates.seller_id,
        random_candidates.region,
        random_candidates.category,
        random_candidates.queue_date,
        {{ dbt.hash(dbt.concat([
            "cast(random_candidates.queue_date as " ~ dbt.type_string() ~ ")",
            "'|random|'",
            "random_candidates.target_type",
            "'|'",
            "random_candidates.target_id",
        ])) }} as selection_key

    from random_candidates

),

random_selected as (

    select
        random_ranked.queue_date,
        'random' as sample_type,
        random_ranked.target_type,
        random_ranked.target_id,
        cast(null as {{ dbt.type_string() }}) as strategy_id,
        cast(null as {{ dbt.type_string() }}) as hit_id,
        random_ranked.seller_id,
        random_ranked.region,
        random_ranked.category,
        random_ranked.region || ' × ' || random_ranked.category as stratum,
        'stratified_random' as selection_reason,
        stratum_plan.stratum_population,
        stratum_plan.stratum_sample_size,
        random_ranked.selection_key,
        row_number() over (
            partition by random_ranked.target_type, random_ranked.region, random_ranked.category
            order by random_ranked.selection_key, random_ranked.target_id
        ) as selection_rank

    from random_ranked
    inner join stratum_plan
        on
            random_ranked.target_type = stratum_plan.target_type
            and random_ranked.region = stratum_plan.region
            and random_ranked.category = stratum_plan.category

),

day_hits as (

    select
        hits.strategy_id,
        hits.hit_id,
        hits.target_type,
        hits.target_id,
        hits.seller_id,
        queue_day.queue_date,
        coalesce(hits.region, 'UNKNOWN') as region,
        coalesce(hits.category, 'UNKNOWN') as category,
        row_number() over (
            partition by hits.strategy_id, hits.target_id
            order by hits.hit_at, hits.hit_id
        ) as hit_order

    from hits
    cross join queue_day
    where
        queue_day.day_start_at <= hits.hit_at
        and hits.hit_at < queue_day.day_end_at

),

flagged_ranked as (

    select
        day_hits.strategy_id,
        day_hits.hit_id,
        day_hits.target_type,
        day_hits.target_id,
        day_hits.seller_id,
        day_hits.queue_date,
        day_hits.region,
        day_hits.category,
        {{ dbt.hash(dbt.concat([
            "cast(day_hits.queue_date as " ~ dbt.type_string() ~ ")",
            "'|flagged|'",
            "day_hits.strategy_id",
            "'|'",
            "day_hits.target_id",
        ])) }} as selection_key

    from day_hits
    where day_hits.hit_order = 1

),

flagged_selected as (

    select
        flagged_ranked.queue_date,
        'flagged' as sample_type,
        flagged_ranked.target_type,
        flagged_ranked.target_id,
        flagged_ranked.strategy_id,
        flagged_ranked.hit_id,
        flagged_ranked.seller_id,
        flagged_ranked.region,
        flagged_ranked.category,
        flagged_ranked.strategy_id as stratum,
        flagged_plan.selection_reason,
        flagged_plan.n_targets_hit as stratum_population,
        flagged_plan.strategy_sample_size as stratum_sample_size,
        flagged_ranked.selection_key,
        row_number() over (
            partition by flagged_ranked.strategy_id
            order by flagged_ranked.selection_key, flagged_ranked.target_id
        ) as selection_rank

    from flagged_ranked
    inner join flagged_plan
        on flagged_ranked.strategy_id = flagged_plan.strategy_id

),

selected as (

    {% for sample in ['random_selected', 'flagged_selected'] %}
        select
            queue_date,
            sample_type,
            target_type,
            target_id,
            strategy_id,
            hit_id,
            seller_id,
            region,
            category,
            stratum,
            selection_reason,
            stratum_population,
            stratum_sample_size,
            selection_rank
        from {{ sample }}
        where selection_rank <= stratum_sample_size
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select
    cast(queue_date as date) as queue_date,
    cast(
        {{ dbt.hash(dbt.concat([
            "cast(queue_date as " ~ dbt.type_string() ~ ")",
            "'|'",
            "sample_type",
            "'|'",
            "coalesce(strategy_id, '')",
            "'|'",
            "target_type",
            "'|'",
            "target_id",
        ])) }} as {{ dbt.type_string() }}
    ) as queue_item_id,
    cast(sample_type as {{ dbt.type_string() }}) as sample_type,
    cast(target_type as {{ dbt.type_string() }}) as target_type,
    cast(target_id as {{ dbt.type_string() }}) as target_id,
    cast(strategy_id as {{ dbt.type_string() }}) as strategy_id,
    cast(hit_id as {{ dbt.type_string() }}) as hit_id,
    cast(seller_id as {{ dbt.type_string() }}) as seller_id,
    cast(region as {{ dbt.type_string() }}) as region,
    cast(category as {{ dbt.type_string() }}) as category,
    cast(stratum as {{ dbt.type_string() }}) as stratum,
    cast(selection_reason as {{ dbt.type_string() }}) as selection_reason,
    cast(selection_rank as integer) as selection_rank,
    cast(stratum_population as integer) as stratum_population,
    cast(stratum_sample_size as integer) as stratum_sample_size,
    cast(stratum_sample_size as double) / stratum_population as inclusion_probability,
    cast(stratum_population as double) / stratum_sample_size as sampling_weight

from selected
