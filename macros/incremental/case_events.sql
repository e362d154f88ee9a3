{#- Nightly runs of seller_case_events, incremental on DuckDB by event: a night re-writes, from
    their inputs, the events (event_type, event_id) whose row can have changed since the model's
    latest build, after deleting their stored rows (pre-hook), and leaves every other event's row
    as it is. An event can change when
    - its own record was written since this model's latest build (delivered, delivered again,
      superseded, re-ranked or quarantined: the base model's rows written since, by record key),
      or, for an action, its row of int_enforcement_actions_resolved (its appeal status);
    - the listing it is about was written since (its seller, the event's seller, may have
      changed, or the listing left);
    - for a hit, the strategy's record was written since (its name and policy are on the hit) or
      an action of the same strategy on the same target was (whether the hit was enforced);
    - for an appeal, its action's row or listing changed (the action's seller, type, policy);
    - the reporting cutoff moved across its time (crossed_by_the_cutoff(), the latest event time
      this model holds standing for the cutoff of its latest build).
    An event that left (its record quarantined, its listing gone, now after the cutoff) keeps no
    row: the pre-hook deleted it and the body writes none. The events are found once, before the
    delete, by the first pre-hook: into a temporary table (case_events_rewritten_relation()) the
    delete and the body read, dropped by the post-hook. -#}


{#- A query of the events (`event_type`, `event_id`, distinct) a nightly run of
    seller_case_events re-writes. Only valid inside `{% if is_incremental() %}`. -#}
{% macro case_events_rewritten() -%}
    {%- set latest_held = latest_time_in_this('event_at') -%}
    {%- set actions = ref('int_enforcement_actions_resolved') -%}
    select rewritten.event_type, rewritten.event_id
    from (
        select 'strategy_hit' as event_type, hits.hit_id as event_id
        from {{ ref('stg_marketplace__strategy_hits') }} as hits
        where
            {{ is_about_a_listing_written_since_latest_build_of_this('hits') }}
            or hits.strategy_id in (
                {{ record_keys_written_since_latest_build_of_this(ref('base_marketplace__strategies')) }}
            )
            or {{ crossed_by_the_cutoff('hits.hit_at', latest_held) }}
        union all
        select 'strategy_hit' as event_type, hits.hit_id as event_id
        from {{ ref('stg_marketplace__strategy_hits') }} as hits
        inner join (
            select distinct written.strategy_id, written.target_type, written.target_id
            from {{ actions }} as written
            where {{ written_since_latest_build_of_this('written') }} and written.strategy_id is not null
        ) as strategy_actions
            on
                hits.strategy_id = strategy_actions.strategy_id
                and hits.target_type = strategy_actions.target_type
                and hits.target_id = strategy_actions.target_id
        union all
        select 'strategy_hit' as event_type, record_key as event_id
        from ({{ record_keys_written_since_latest_build_of_this(ref('base_marketplace__strategy_hits')) }})
        union all
        select 'enforcement_action' as event_type, action_id as event_id
        from ({{ case_event_actions_rewritten(latest_held) }})
        union all
        select appeal_events.event_type, appeals.appeal_id as event_id
        from {{ ref('stg_marketplace__appeals') }} as appeals
        cross join (
            select 'appeal_filed' as event_type union all select 'appeal_decided' as event_type
        ) as appeal_events
        where
            appeals.action_id in ({{ case_event_actions_rewritten(latest_held) }})
            or {{ crossed_by_the_cutoff('appeals.filed_at', latest_held) }}
            or {{ crossed_by_the_cutoff('appeals.resolved_at', latest_held) }}
        union all
        select appeal_events.event_type, written.record_key as event_id
        from ({{ record_keys_written_since_latest_build_of_this(ref('base_marketplace__appeals')) }}) as written
        cross join (
            select 'appeal_filed' as event_type union all select 'appeal_decided' as event_type
        ) as appeal_events
        union all
        select 'qa_check' as event_type, checks.check_id as event_id
        from {{ ref('stg_marketplace__qa_case_checks') }} as checks
        where {{ is_about_a_listing_written_since_latest_build_of_this('checks') }} or {{ crossed_by_the_cutoff('checks.checked_at', latest_held) }}
        union all
        select 'qa_check' as event_type, record_key as event_id
        from ({{ record_keys_written_since_latest_build_of_this(ref('base_marketplace__qa_case_checks')) }})
        union all
        select 'complaint' as event_type, complaints.complaint_id as event_id
        from {{ ref('stg_marketplace__complaints') }} as complaints
        where {{ crossed_by_the_cutoff('complaints.created_at', latest_held) }}
        union all
        select 'complaint' as event_type, record_key as event_id
        from ({{ record_keys_written_since_latest_build_of_this(ref('base_marketplace__complaints')) }})
    ) as rewritten
    group by rewritten.event_type, rewritten.event_id
{%- endmacro %}


{#- A query of the actions (`action_id`) whose event a night re-writes: those whose record or
    row of int_enforcement_actions_resolved was written since this model's latest build, those
    about a listing written since, and those whose time the cutoff moved across (`latest_held`
    as in crossed_by_the_cutoff()). -#}
{% macro case_event_actions_rewritten(latest_held) -%}
    {%- set actions = ref('int_enforcement_actions_resolved') -%}
    select written.action_id
    from {{ actions }} as written
    where {{ written_since_latest_build_of_this('written') }} or {{ is_about_a_listing_written_since_latest_build_of_this('written') }}
    union all
    {{ record_keys_written_since_latest_build_of_this(ref('base_marketplace__enforcement_actions')) }}
    union all
    select staged.action_id
    from {{ ref('stg_marketplace__enforcement_actions') }} as staged
    where {{ crossed_by_the_cutoff('staged.acted_at', latest_held) }}
{%- endmacro %}


{#- A condition on the events of `alias` (with `target_type` and `target_id`) that they are about
    a listing whose record was written since this model's latest build. -#}
{% macro is_about_a_listing_written_since_latest_build_of_this(alias) -%}
    ({{ alias }}.target_type = 'listing' and {{ alias }}.target_id in (
        {{ record_keys_written_since_latest_build_of_this(ref('base_marketplace__listings')) }}
    ))
{%- endmacro %}


{#- The temporary table of the events (`event_type`, `event_id`) a nightly run of
    seller_case_events re-writes (case_events_rewritten()): written by its first pre-hook, read
    by the second and by the model, dropped by its post-hook. A temporary table lives in the
    run's connection only: it is never in the warehouse file. -#}
{% macro case_events_rewritten_relation() -%}
    {{ return(api.Relation.create(
        database='temp', schema='main', identifier=this.identifier ~ '__rewritten_events', type='table'
    )) }}
{%- endmacro %}


{#- First pre-hook of seller_case_events: on an incremental run, the events it re-writes into
    case_events_rewritten_relation(), found before any stored row is deleted (nothing on a full
    build). -#}
{% macro keep_case_events_rewritten() -%}
    {%- if is_incremental() -%}
        create or replace temporary table {{ case_events_rewritten_relation() }} as
        {{ case_events_rewritten() }}
    {%- endif -%}
{%- endmacro %}


{#- Second pre-hook of seller_case_events: on an incremental run, deletes the stored rows of the
    events keep_case_events_rewritten() found (none on a full build). -#}
{% macro delete_case_events_rewritten() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} as stored
        using {{ case_events_rewritten_relation() }} as rewritten
        where stored.event_type = rewritten.event_type and stored.event_id = rewritten.event_id
    {%- endif -%}
{%- endmacro %}


{#- Post-hook of seller_case_events: drops the temporary table of the events an incremental run
    re-wrote (nothing on a full build). -#}
{% macro drop_case_events_rewritten() -%}
    {%- if is_incremental() -%}
        drop table if exists {{ case_events_rewritten_relation() }}
    {%- endif -%}
{%- endmacro %}


{#- The condition an import CTE of seller_case_events keeps its rows by on an incremental run:
    `id_column` is the event id of one of the `event_types` in the CTE `rewritten_events`
    (case_events_rewritten_relation()); `also_in` adds a query of more ids kept. Empty on a full build
    (every row is kept). -#}
{% macro where_case_event_rewritten(id_column, event_types, also_in=none) -%}
    {%- if is_incremental() %}
    where {{ id_column }} in (
        select rewritten_events.event_id from rewritten_events
        where rewritten_events.event_type in ('{{ event_types | join("', '") }}')
        {%- if also_in %}
        union all
        {{ also_in }}
        {%- endif %}
    )
    {%- endif %}
{%- endmacro %}
