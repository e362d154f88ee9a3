{#- Nightly runs of the seller-grain models (int_seller_activity, seller_features_stored),
    incremental on DuckDB by seller: a night recomputes, exactly and from their inputs, the rows
    of the sellers it touched, after deleting them (pre-hook), and leaves every other seller's
    rows as they are. A seller is touched when
    - a row of an input that names it (directly, or through the listing an event is about) was
      written since this model's latest build: a record delivered, delivered again (the base
      model writes again the version it supersedes, so the seller a record leaves is among them),
      re-ranked or quarantined, or a row an incremental input re-processed (its lookback);
    - the reporting cutoff moved across one of its events: an event after the latest event time
      this model holds and before the cutoff (the cutoff advanced), or at or after the cutoff
      and no later than that latest time (it moved back: a build as of an earlier date). The
      latest event time a model holds stands for the cutoff of its latest build: every event it
      counted was before that cutoff, and an event between the two that it did not count was
      written since.
    A seller none of whose rows the new batch holds (a seller record quarantined, or all of its
    events now after the cutoff) keeps no row: the pre-hook deleted it, which dbt's delete+insert
    (it deletes only the keys it writes) would not. All bounds are read when the run starts and
    written in as constants, so the pre-hook and the body name the same sellers. -#}


{#- A query of the sellers (`seller_id`) of the rows of `relation` written since this model's
    latest build; `seller_expression` finds the seller on the alias `written` (a column, or
    target_seller_id('written', 'listings') for an event about a seller or a listing, which
    joins the listing segments). Only valid inside `{% if is_incremental() %}`. -#}
{% macro sellers_written_since_latest_build_of_this(relation, seller_expression='written.seller_id') -%}
    select {{ seller_expression }} as seller_id
    from {{ relation }} as written
    {%- if 'listings.' in seller_expression %}
    left join {{ ref('int_listing_segments') }} as listings
        on written.target_type = 'listing' and written.target_id = listings.listing_id
    {%- endif %}
    where {{ written_since_latest_build_of_this('written') }}
{%- endmacro %}


{#- A condition on the event time `time_column` (of a staged row) that the reporting cutoff moved
    across since this model's latest build, `latest_held` being the latest event time this model
    holds (latest_time_in_this()). -#}
{% macro crossed_by_the_cutoff(time_column, latest_held) -%}
    {%- set cutoff_at = reporting_cutoff_at() -%}
    (
        ({{ time_column }} > {{ latest_held }} and {{ time_column }} < {{ cutoff_at }})
        or ({{ time_column }} >= {{ cutoff_at }} and {{ time_column }} <= {{ latest_held }})
    )
{%- endmacro %}


{#- A query of the sellers of the staged events of `relation` (a staging view) whose time
    `time_column` the cutoff moved across (crossed_by_the_cutoff); `seller_expression` as in
    sellers_written_since_latest_build_of_this, on the alias `written`. -#}
{% macro sellers_of_events_crossed_by_the_cutoff(relation, time_column, latest_held, seller_expression='written.seller_id') -%}
    select {{ seller_expression }} as seller_id
    from {{ relation }} as written
    {%- if 'listings.' in seller_expression %}
    left join {{ ref('int_listing_segments') }} as listings
        on written.target_type = 'listing' and written.target_id = listings.listing_id
    {%- endif %}
    where {{ crossed_by_the_cutoff('written.' ~ time_column, latest_held) }}
{%- endmacro %}


{#- The sellers whose int_seller_activity row a nightly run re-writes (a query of `seller_id`).
    Only valid inside `{% if is_incremental() %}`. -#}
{% macro sellers_touched_for_activity() -%}
    {%- set latest_held = latest_time_in_this('last_event_at') -%}
    {%- set target_seller = target_seller_id('written') -%}
    select touched.seller_id
    from (
        select written.record_key as seller_id
        from {{ ref('base_marketplace__sellers') }} as written
        where {{ written_since_latest_build_of_this('written') }}
        union all
        {{ sellers_written_since_latest_build_of_this(ref('base_marketplace__orders')) }}
        union all
        {{ sellers_written_since_latest_build_of_this(ref('base_marketplace__complaints')) }}
        union all
        {{ sellers_written_since_latest_build_of_this(ref('base_marketplace__listings')) }}
        union all
        {#- A listing's outcome changes with its record (above) or with the actions on it;
            int_listing_enforcement_outcomes re-writes whole windows of days, mostly unchanged. #}
        {{ sellers_written_since_latest_build_of_this(ref('int_enforcement_actions_resolved'), target_seller) }}
        union all
        {{ sellers_written_since_latest_build_of_this(ref('base_marketplace__qa_case_checks'), target_seller) }}
        union all
        {{ sellers_written_since_latest_build_of_this(ref('base_marketplace__strategy_hits'), target_seller) }}
        union all
        {{ sellers_of_events_crossed_by_the_cutoff(ref('stg_marketplace__listings'), 'created_at', latest_held) }}
        union all
        {{ sellers_of_events_crossed_by_the_cutoff(ref('stg_marketplace__orders'), 'ordered_at', latest_held) }}
        union all
        {{ sellers_of_events_crossed_by_the_cutoff(ref('stg_marketplace__complaints'), 'created_at', latest_held) }}
        union all
        {{ sellers_of_events_crossed_by_the_cutoff(ref('stg_marketplace__qa_case_checks'), 'checked_at', latest_held, target_seller) }}
        union all
        {{ sellers_of_events_crossed_by_the_cutoff(ref('stg_marketplace__strategy_hits'), 'hit_at', latest_held, target_seller) }}
    ) as touched
    where touched.seller_id is not null
    group by touched.seller_id
{%- endmacro %}


{#- Pre-hook of a seller-grain model: on an incremental run, deletes the rows of the sellers
    `touched_sellers` (a query of seller_id) names (none on a full build). -#}
{% macro delete_rows_of_touched_sellers(touched_sellers) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where seller_id in ({{ touched_sellers }})
    {%- endif -%}
{%- endmacro %}


{#- Pre-hook of a seller-grain model whose body reads its own stored rows (int_seller_activity
    merges its order counts): on an incremental run, deletes the rows of the sellers
    `touched_sellers` names that are no longer staged (the body writes no row for them); dbt's
    delete+insert replaces the others' rows. -#}
{% macro delete_rows_of_touched_sellers_gone(touched_sellers) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where
            seller_id in ({{ touched_sellers }})
            and seller_id not in (
                select staged.seller_id from {{ ref('stg_marketplace__sellers') }} as staged
                where staged.seller_id is not null
            )
    {%- endif -%}
{%- endmacro %}


{#- The sellers whose seller_features_stored row a nightly run re-writes (a query of
    `seller_id`): those whose seller record, activity row, identity links, identity-signal
    observations or seller-targeted actions were written since this model's latest build; those
    whose registration the cutoff moved across (the latest registration this model holds stands
    for its cutoff); and, for a cutoff moved back, those with an identity-signal observation or
    an action at or after the cutoff (its upstream models delete such rows without writing any
    for the seller). Only valid inside `{% if is_incremental() %}`. -#}
{% macro sellers_touched_for_features() -%}
    {%- set latest_registered = latest_time_in_this('registered_at') -%}
    {%- set cutoff_at = reporting_cutoff_at() -%}
    {%- set seller_target = "case when written.target_type = 'seller' then written.target_id end" -%}
    select touched.seller_id
    from (
        select written.record_key as seller_id
        from {{ ref('base_marketplace__sellers') }} as written
        where {{ written_since_latest_build_of_this('written') }}
        union all
        {{ sellers_written_since_latest_build_of_this(ref('int_seller_activity')) }}
        union all
        {{ sellers_written_since_latest_build_of_this(ref('int_seller_identity_links')) }}
        union all
        {{ sellers_written_since_latest_build_of_this(ref('base_marketplace__seller_identity_signals')) }}
        union all
        {{ sellers_written_since_latest_build_of_this(ref('int_enforcement_actions_resolved'), seller_target) }}
        union all
        {{ sellers_of_events_crossed_by_the_cutoff(ref('stg_marketplace__sellers'), 'registered_at', latest_registered) }}
        union all
        select written.seller_id
        from {{ ref('stg_marketplace__seller_identity_signals') }} as written
        where written.observed_at >= {{ cutoff_at }}
        union all
        select {{ seller_target }} as seller_id
        from {{ ref('stg_marketplace__enforcement_actions') }} as written
        where written.acted_at >= {{ cutoff_at }}
    ) as touched
    where touched.seller_id is not null
    group by touched.seller_id
{%- endmacro %}
