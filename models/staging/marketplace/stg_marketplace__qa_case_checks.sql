{#- The staged QA case checks: the latest valid version of each record. Rows that break a data
    rule are in stg_marketplace__quarantine; older versions are superseded (see the base model). -#}

with

base as (

    select * from {{ ref('base_marketplace__qa_case_checks') }}

)

select
    check_id,
    target_type,
    target_id,
    sample_type,
    strategy_id,
    checked_at,
    is_violation,
    policy_code

from base
where disposition = 'staged'
