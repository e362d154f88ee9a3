{#- One row per `random` QA case check that confirmed a violation and per strategy that enforces
    the violated policy on that kind of target and was running when the check was made, with
    whether the strategy had hit the target before the check. Random checks are a uniform sample,
    so the share hit estimates the strategy's recall. -#}

with

checks as (

    select * from {{ ref('stg_marketplace__qa_case_checks') }}

),

strategies as (

    select * from {{ ref('int_strategy_profiles') }}

),

hits as (

    select * from {{ ref('int_strategy_hits_enriched') }}

),

as_of as (

    select * from {{ ref('int_as_of_date') }}

),

confirmed_random_checks as (

    select checks.*
    from checks
    cross join as_of
    where
        checks.sample_type = 'random'
        and checks.is_violation
        and checks.policy_code is not null
        and checks.checked_at < as_of.cutoff_at

),

candidates as (

    select
        confirmed_random_checks.check_id,
        strategies.strategy_id,
        confirmed_random_checks.target_type,
        confirmed_random_checks.target_id,
        confirmed_random_checks.checked_at,
        confirmed_random_checks.policy_code

    from confirmed_random_checks
    inner join strategies
        on
            confirmed_random_checks.policy_code = strategies.policy_code
            and confirmed_random_checks.target_type = strategies.target_type
            and coalesce(strategies.launched_at, strategies.first_hit_at) <= confirmed_random_checks.checked_at
            and (strategies.retired_at is null or confirmed_random_checks.checked_at < strategies.retired_at)

),

earlier_hits as (

    select
        candidates.check_id,
        candidates.strategy_id,
        min(hits.hit_at) as first_hit_at

    from candidates
    inner join hits
        on
            candidates.strategy_id = hits.strategy_id
            and candidates.target_type = hits.target_type
            and candidates.target_id = hits.target_id
            and candidates.checked_at >= hits.hit_at
    group by candidates.check_id, candidates.strategy_id

)

select
    candidates.check_id,
    candidates.strategy_id,
    candidates.target_type,
    candidates.target_id,
    candidates.checked_at,
    cast(candidates.checked_at as date) as checked_date,
    candidates.policy_code,
    earlier_hits.first_hit_at,
    earlier_hits.first_hit_at is not null as is_hit_before_check

from candidates
left join earlier_hits
    on
        candidates.check_id = earlier_hits.check_id
        and candidates.strategy_id = earlier_hits.strategy_id
