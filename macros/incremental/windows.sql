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


{#- The first day (a date literal) the incremental run re-processes: the latest day of
    `timestamp_column` already in this model minus var('lookback_days'), or var('reprocess_from')
    when that is earlier, then `days_before` days earlier still. Read from the model when the run
    starts, so the compiled SQL holds a constant the engine can prune storage with (a subquery
    in the filter makes it read the whole table). Only valid inside `{% if is_incremental() %}`. -#}
{% macro incremental_window_start(timestamp_column, days_before=0) -%}
    {{ return("cast('" ~ incremental_window_first_day(timestamp_column, days_before) ~ "' as date)") }}
{%- endmacro %}


{#- The same day as a 'YYYY-MM-DD' string (counted from 1900-01-01 when the model is empty or
    dbt is parsing). -#}
{% macro incremental_window_first_day(timestamp_column, days_before=0) -%}
    {%- set lookback = lookback_days() -%}
    {%- set reprocess_from = validated_date_var('reprocess_from') -%}
    {%- set latest = earliest_or_latest_day_in_this('max', timestamp_column) -%}
    {%- set first_day = modules.datetime.date(1900, 1, 1) -%}
    {%- if latest -%}
        {%- set first_day = modules.datetime.date.fromisoformat(latest)
            - modules.datetime.timedelta(days=lookback) -%}
    {%- endif -%}
    {%- if reprocess_from -%}
        {%- set first_day = [first_day, modules.datetime.date.fromisoformat(reprocess_from)] | min -%}
    {%- endif -%}
    {{ return((first_day - modules.datetime.timedelta(days=days_before)).isoformat()) }}
{%- endmacro %}


{#- The earliest ('min') or latest ('max') day of `column` (a 'YYYY-MM-DD' string) among the
    rows of this model, those where `condition` holds if given; none when there is no such row
    or dbt is parsing. Only valid inside `{% if is_incremental() %}`. -#}
{% macro earliest_or_latest_day_in_this(aggregate, column, condition=none) -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set day = value_read_once(
        'select cast(cast(' ~ aggregate ~ '(' ~ column ~ ') as date) as ' ~ dbt.type_string()
        ~ ') from ' ~ this ~ (' where ' ~ condition if condition else '')
    ) -%}
    {{ return(day | string if day else none) }}
{%- endmacro %}


{#- Days after an order within which a complaint counts (`has_complaint_within_14d`): the window
    of complaint_rate in the metric registry. The order fact applies it, and examines the order
    records changed within it before its lookback window one by one. -#}
{% macro complaint_window_days() -%}
    {{ return(metric_window_days('complaint_rate')) }}
{%- endmacro %}


{#- Days after a listing's creation within which a counted listing action makes it a violation
    or a low-quality listing (`is_violation_within_7d`, `is_low_quality_within_7d`): the window
    the metric registry gives the metrics of int_listing_enforcement_outcomes. -#}
{% macro listing_action_window_days() -%}
    {{ return(outcome_model_window_days('int_listing_enforcement_outcomes')) }}
{%- endmacro %}


{#- The start of this dbt invocation (UTC) as a timestamp. Incremental models stamp the rows they
    write with it (`processed_at`), which tells the rows the latest build wrote. -#}
{% macro build_started_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}


{#- The values of the first column `query` returns, as a list, read once per model and dbt
    invocation: the model's select, its pre-hook and its post-hook (which runs after the model
    wrote its rows) all see the values the run started with (kept in dbt's graph). -#}
{% macro values_read_once(query) -%}
    {%- set values_read = graph.setdefault('values_read_by_query', {}) -%}
    {%- set key = invocation_id ~ ' ' ~ model.unique_id ~ ' ' ~ query -%}
    {%- if key not in values_read -%}
        {%- do values_read.update({key: run_query(query).columns[0].values() | list}) -%}
    {%- endif -%}
    {{ return(values_read[key]) }}
{%- endmacro %}


{#- The first value `query` returns, read once per model and dbt invocation (values_read_once()). -#}
{% macro value_read_once(query) -%}
    {{ return(values_read_once(query)[0]) }}
{%- endmacro %}
