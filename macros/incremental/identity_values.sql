{#- Nightly runs of int_seller_identity_links, incremental on DuckDB by identity value
    (signal_type, signal_value_hash). Every column of a row depends only on the staged
    observations of its own value (n_sellers_sharing counts the sellers of the value), so a night
    that re-writes every row of each value whose observations changed gives the table a full
    build gives. The values whose observations changed since this model's latest build are
    - those of the base rows written since (macros/incremental/changed_days.sql): records
      delivered for the first time, delivered again (the base model writes again the versions
      they supersede, so a value a record leaves is among them), orphans staged once their seller
      arrived;
    - those of the staged observations the reporting cutoff moved across: observed after the
      latest observation this model holds and before the cutoff (the cutoff advanced: an
      observation it now passes may have arrived on an earlier night), or at or after the cutoff
      and no later than that latest observation (it moved back: a build as of an earlier date).
    The rows of those values are deleted before the new ones are written (pre-hook): a value none
    of whose observations is staged and before the cutoff any more keeps no row, which dbt's
    delete+insert (it deletes only the keys it writes) would leave. -#}


{#- A query of the identity values (signal_type, signal_value_hash) whose rows this model
    re-writes on an incremental run, from `signals_base` (the identity-signal base model). The
    bounds are read when the run starts and written in as constants, so the pre-hook's delete and
    the model's select name the same values although the delete runs first. Only valid inside
    `{% if is_incremental() %}`. -#}
{% macro identity_values_touched_since_latest_build_of_this(signals_base) -%}
    {%- set latest_observed_at = latest_time_in_this('last_observed_at') -%}
    {%- set cutoff_at = reporting_cutoff_at() -%}
    select
        written.signal_type,
        written.signal_value_hash
    from {{ signals_base }} as written
    where {{ written_since_latest_build_of_this('written') }}

    union

    select
        crossed.signal_type,
        crossed.signal_value_hash
    from {{ signals_base }} as crossed
    where
        crossed.disposition = 'staged'
        and (
            (
                crossed.observed_at > {{ latest_observed_at }}
                and crossed.observed_at < {{ cutoff_at }}
            )
            or (
                crossed.observed_at >= {{ cutoff_at }}
                and crossed.observed_at <= {{ latest_observed_at }}
            )
        )
{%- endmacro %}


{#- Pre-hook of int_seller_identity_links: on an incremental run, deletes the rows of the values
    it re-writes (none on a full build). -#}
{% macro delete_identity_links_of_touched_values() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} as links
        where exists (
            select 1
            from (
                {{ identity_values_touched_since_latest_build_of_this(
                    ref('base_marketplace__seller_identity_signals')
                ) }}
            ) as touched
            where
                links.signal_type = touched.signal_type
                and links.signal_value_hash = touched.signal_value_hash
        )
    {%- endif -%}
{%- endmacro %}
