{#- Incremental builds of the large record-level facts.

    A nightly run re-processes every record whose date is on or after the window start: the
    latest day already in the model minus var('lookback_days') (late-arriving events), or
    var('reprocess_from') when that is earlier (backfills). Models also re-process older records
    that a recent event changes (an appeal overturning an old action). On a full refresh nothing
    is filtered. -#}

{% macro lookback_days() -%}
    {%- set text = var('lookback_days') | string | trim -%}
    {%- if not modules.re.fullmatch('[0-9]+', text) or (text | int) > 365 -%}
        {{ exceptions.raise_compiler_error("dbt var 'lookback_days' must be a whole number of days between 0 and 365, got '" ~ text ~ "'") }}
    {%- endif -%}
    {{ return(text | int) }}
{%- endmacro %}


{#- Scalar subquery: the first day (a date) the incremental run re-processes, from the latest
    `timestamp_column` already in this model. Only valid inside `{% if is_incremental() %}`. -#}
{% macro incremental_window_start(timestamp_column) -%}
    {%- set lookback = lookback_days() -%}
    {%- set reprocess_from = validated_date_var('reprocess_from') -%}
    {%- set from_this -%}
        coalesce(
            cast({{ dbt.dateadd('day', -lookback, 'cast(max(' ~ timestamp_column ~ ') as date)') }} as date),
            cast('1900-01-01' as date)
        )
    {%- endset -%}
    (
        select
            {% if reprocess_from -%}
                least({{ from_this }}, cast('{{ reprocess_from }}' as date))
            {%- else -%}
                {{ from_this }}
            {%- endif %}
        from {{ this }}
    )
{%- endmacro %}


{#- Days after an order within which a complaint counts (`has_complaint_within_14d`). The outcome
    fact applies it, and the order fact built on it widens its re-processing window by it. -#}
{% macro complaint_window_days() -%}
    {{ return(14) }}
{%- endmacro %}


{#- The start of this dbt invocation (UTC) as a timestamp. Incremental models stamp the rows they
    write with it (`processed_at`), which tells the rows the latest build wrote. -#}
{% macro build_started_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

