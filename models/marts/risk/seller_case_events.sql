{#- A seller's case file as a timeline: one row per event that concerns the seller or one of its
    listings, up to the reporting date: strategy hits, enforcement actions, appeals filed and
    decided, QA case checks and buyer complaints. Ids and codes only, no personal data. The
    listings themselves, with their outcomes, are in fct_listing_outcomes. -#}

{#- Incremental on DuckDB (nightly runs) by event: re-writes, from its inputs, the events whose
    row can have changed since the model's latest build, after deleting their stored rows, and
    leaves the others as they are (macros/incremental/case_events.sql). The unique key is the
    seller, the partition the publish compares and copies; dbt's own delete by it would delete
    the seller's other events: it is turned off (incremental_predicates), the pre-hooks find the
    events to re-write and delete their rows, the body reads the events they found.
    Every row carries the start of the build that wrote it (`processed_at`). -#}
{{ config(**incremental_by_key('seller_id')) }}
{{ config(
    incremental_predicates=['false'],
    pre_hook=["{{ keep_case_events_rewritten() }}", "{{ delete_case_events_rewritten() }}"],
    post_hook="{{ drop_case_events_rewritten() }}",
) }}

{#- Read only to find the events changed since this model's latest build. #}
-- depends_on: {{ ref('base_marketplace__listings') }}
-- depends_on: {{ ref('base_marketplace__complaints') }}
-- depends_on: {{ ref('base_marketplace__qa_case_checks') }}
-- depends_on: {{ ref('base_marketplace__strategy_hits') }}
-- depends_on: {{ ref('base_marketplace__appeals') }}
-- depends_on: {{ ref('base_marketplace__strategies') }}
-- depends_on: {{ ref('base_marketplace__enforcement_actions') }}
-- depends_on: {{ ref('stg_marketplace__strategy_hits') }}
-- depends_on: {{ ref('stg_marketplace__enforcement_actions') }}

with
{%- if is_incremental() %}

{#- The events this run re-writes, found by the pre-hook before its delete. #}
rewritten_events as (

    select rewritten.event_type, rewritten.event_id
    from {{ case_events_rewritten_relation() }} as rewritten

),
{%- endif %}

hits as (

    select * from {{ ref('int_strategy_hits_enriched') }}
    {{- where_case_event_rewritten('hit_id', ['strategy_hit']) }}

),

strategies as (

    select * from {{ ref('int_strategy_profiles') }}

),

appeals as (

    select * from {{ ref('stg_marketplace__appeals') }}
    {{- where_case_event_rewritten('appeal_id', ['appeal_filed', 'appeal_decided']) }}

),

actions as (

    select * from {{ ref('int_enforcement_actions_resolved') }}
    {#- ...and the actions of the appeals re-written: an appeal's events read its action. #}
    {{- where_case_event_rewritten(
        'action_id', ['enforcement_action'], also_in='select appeals.action_id from appeals'
    ) }}

),

qa_checks as (

    select * from {{ ref('stg_marketplace__qa_case_checks') }}
    {{- where_case_event_rewritten('check_id', ['qa_check']) }}

),

complaints as (

    select * from {{ ref('stg_marketplace__complaints') }}
    {{- where_case_event_rewritten('complaint_id', ['complaint']) }}

),

listings as (

    select * from {{ ref('int_listing_segments') }}

),

as_of as (

    select * from {{ ref('int_as_of_date') }}

),

-- The seller behind an action's or a check's target: the seller itself, or the listing's seller.
actions_with_seller as (

    select
        actions.action_id,
        actions.target_type,
        actions.target_id,
        actions.action_type,
        actions.policy_code,
        actions.strategy_id,
        actions.acted_at,
        actions.is_appealed,
        actions.is_overturned,
        {{ target_seller_id('actions') }} as seller_id

    from actions
    left join listings
        on actions.target_type = 'listing' and actions.target_id = listings.listing_id

),

hit_events as (

    select
        hits.seller_id,
        'strategy_hit' as event_type,
        hits.hit_id as event_id,
        hits.hit_at as event_at,
        hits.target_type,
        hits.target_id,
        hits.strategy_id,
        strategies.policy_code,
        strategies.strategy_name as event_detail,
        case when hits.is_enforced then 'enforced' else 'not enforced' end as outcome,
        cast(null as {{ dbt.type_string() }}) as related_id

    from hits
    left join strategies
        on hits.strategy_id = strategies.strategy_id

),

action_events as (

    select
        seller_id,
        'enforcement_action' as event_type,
        action_id as event_id,
        acted_at as event_at,
        target_type,
        target_id,
        strategy_id,
        policy_code,
        action_type as event_detail,
        case
            when is_overturned then 'overturned on appeal'
            when is_appealed then 'appealed'
            else 'standing'
        end as outcome,
        cast(null as {{ dbt.type_string() }}) as related_id

    from actions_with_seller

),

appeal_filed_events as (

    select
        actions_with_seller.seller_id,
        'appeal_filed' as event_type,
        appeals.appeal_id as event_id,
        appeals.filed_at as event_at,
        actions_with_seller.target_type,
        actions_with_seller.target_id,
        actions_with_seller.strategy_id,
        actions_with_seller.policy_code,
        actions_with_seller.action_type as event_detail,
        cast(null as {{ dbt.type_string() }}) as outcome,
        appeals.action_id as related_id

    from appeals
    inner join actions_with_seller
        on appeals.action_id = actions_with_seller.action_id

),

appeal_decided_events as (

    select
        actions_with_seller.seller_id,
        'appeal_decided' as event_type,
        appeals.appeal_id as event_id,
        appeals.resolved_at as event_at,
        actions_with_seller.target_type,
        actions_with_seller.target_id,
        actions_with_seller.strategy_id,
        actions_with_seller.policy_code,
        actions_with_seller.action_type as event_detail,
        appeals.outcome,
        appeals.action_id as related_id

    from appeals
    inner join actions_with_seller
        on appeals.action_id = actions_with_seller.action_id
    where appeals.resolved_at is not null

),

check_events as (

    select
        {{ target_seller_id('qa_checks') }} as seller_id,
        'qa_check' as event_type,
        qa_checks.check_id as event_id,
        qa_checks.checked_at as event_at,
        qa_checks.target_type,
        qa_checks.target_id,
        qa_checks.strategy_id,
        qa_checks.policy_code,
        qa_checks.sample_type as event_detail,
        case when qa_checks.is_violation then 'violation' else 'no violation' end as outcome,
        cast(null as {{ dbt.type_string() }}) as related_id

    from qa_checks
    left join listings
        on qa_checks.target_type = 'listing' and qa_checks.target_id = listings.listing_id

),

complaint_events as (

    select
        seller_id,
        'complaint' as event_type,
        complaint_id as event_id,
        created_at as event_at,
        'order' as target_type,
        order_id as target_id,
        cast(null as {{ dbt.type_string() }}) as strategy_id,
        cast(null as {{ dbt.type_string() }}) as policy_code,
        reason as event_detail,
        cast(null as {{ dbt.type_string() }}) as outcome,
        listing_id as related_id

    from complaints

),

events as (

    {{ union_ctes(
        ['hit_events', 'action_events', 'appeal_filed_events', 'appeal_decided_events',
         'check_events', 'complaint_events'],
        ['seller_id', 'event_type', 'event_id', 'event_at', 'target_type', 'target_id',
         'strategy_id', 'policy_code', 'event_detail', 'outcome', 'related_id']
    ) }}

),

final as (

    select
        events.seller_id,
        events.event_type,
        events.event_id,
        cast(events.event_at as timestamp) as event_at,
        cast(events.event_at as date) as event_date,
        events.target_type,
        events.target_id,
        events.strategy_id,
        events.policy_code,
        events.event_detail,
        events.outcome,
        events.related_id

    from events
    cross join as_of
    where
        events.seller_id is not null
        and events.event_at < as_of.cutoff_at
    {% if is_incremental() -%}
        and exists (
            select 1 from rewritten_events
            where
                rewritten_events.event_type = events.event_type
                and rewritten_events.event_id = events.event_id
        )
    {%- endif %}

)

select
    seller_id,
    event_type,
    event_id,
    event_at,
    event_date,
    target_type,
    target_id,
    strategy_id,
    policy_code,
    event_detail,
    outcome,
    related_id,
    {{ build_started_at() }} as processed_at

from final
