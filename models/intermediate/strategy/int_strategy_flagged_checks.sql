{#- One row per `flagged` QA case check up to the reporting date: a reviewer's verdict on a
    target a strategy hit. Each check is tied to the hit it audited (the strategy's latest hit on
    the target before the check) so that precision is dated by the hit, not by the review. -#}

with

checks as (

    select * from {{ ref('stg_marketplace__qa_case_checks') }}

),

hits as (

    select * from {{ ref('int_strategy_hits_enriched') }}

),

as_of as (

    select * from {{ ref('int_as_of_date') }}

),

flagged_checks as (

    select checks.*
    from checks
    cross join as_of
    where
        checks.sample_type = 'flagged'
        and checks.strategy_id is not null
        and checks.checked_at < as_of.cutoff_at

),

ranked_hits as (

    select
        flagged_checks.check_id,
        hits.hit_id,
        hits.hit_at,
        row_number() over (
            partition by flagged_checks.check_id
            order by hits.hit_at desc, hits.hit_id desc
        ) as recency_rank

    from flagged_checks
    inner join hits
        on
            flagged_checks.strategy_id = hits.strategy_id
            and flagged_checks.target_type = hits.target_type
            and flagged_checks.target_id = hits.target_id
            and flagged_checks.checked_at >= hits.hit_at

),

audited_hits as (

    select
        check_id,
        hit_id,
        hit_at

    from ranked_hits
    where recency_rank = 1

)

select
    flagged_checks.check_id,
    flagged_checks.strategy_id,
    flagged_checks.target_type,
    flagged_checks.target_id,
    flagged_checks.checked_at,
    cast(flagged_checks.checked_at as date) as checked_date,
    flagged_checks.is_violation,
    flagged_checks.policy_code as finding_policy_code,
    audited_hits.hit_id as audited_hit_id,
    audited_hits.hit_at as audited_hit_at,
    coalesce(cast(audited_hits.hit_at as date), cast(flagged_checks.checked_at as date)) as performance_date

from flagged_checks
left join audited_hits
    on flagged_checks.check_id = audited_hits.check_id
