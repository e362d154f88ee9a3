{#- Days an incremental model re-processes because rows it reads changed after its own latest
    build, whatever their day. Every incremental model stamps the rows it writes with the start
    of the build that wrote them (`processed_at`, build_started_at()), so a row another model
    wrote after this model's latest build (a later stamp) is a change this model has not taken
    in: a day the order fact re-processed, a listing whose outcome an appeal overturned months
    after its creation, a listing or seller record delivered again. The days are read when the
    run starts (upstream models have run by then) and written into the compiled SQL as
    constants, which the engine prunes storage with. -#}


{#- The latest value of the timestamp column `column` of this model as a timestamp literal
    (1900-01-01 when the model is empty or dbt is parsing), as the run started (value_read_once()). Only valid inside
    `{% if is_incremental() %}`. -#}
{% macro latest_time_in_this(column) -%}
    {%- set latest = none -%}
    {%- if execute -%}
        {%- set latest = value_read_once(
            'select cast(max(' ~ column ~ ') as ' ~ dbt.type_string() ~ ') from ' ~ this
        ) -%}
    {%- endif -%}
    {{ return("cast('" ~ (latest or '1900-01-01 00:00:00') ~ "' as " ~ dbt.type_timestamp() ~ ")") }}
{%- endmacro %}


{#- The `processed_at` of this model's latest build as a timestamp literal (1900-01-01 when the
    model is empty or dbt is parsing). Only valid inside `{% if is_incremental() %}`. -#}
{% macro latest_build_of_this() -%}
    {{ return(latest_time_in_this('processed_at')) }}
{%- endmacro %}


{#- A condition on the rows of `alias` (a relation with a `processed_at` column) written after
    this model's latest build. Only valid inside `{% if is_incremental() %}`. -#}
{% macro written_since_latest_build_of_this(alias) -%}
    {{ alias }}.processed_at > {{ latest_build_of_this() }}
{%- endmacro %}


{#- A query of the record keys of `relation` (a base model) written after this model's latest
    build: records delivered, re-delivered or superseded since. Only valid inside
    `{% if is_incremental() %}`. -#}
{% macro record_keys_written_since_latest_build_of_this(relation) -%}
    select changed_rows.record_key from {{ relation }} as changed_rows
    where {{ written_since_latest_build_of_this('changed_rows') }}
{%- endmacro %}


{#- The distinct days (a list of 'YYYY-MM-DD' strings) in the column `day` of `query`, read
    when the run starts; none while dbt is parsing. A model kept by whole days reads its day set
    twice, in its body and in its pre-hook (macros/incremental/reprocessed_days.sql), both before
    it writes anything: each query runs once per model and dbt invocation, and the second read
    takes the days the first found (kept in dbt's graph, which every context of one invocation
    shares). -#}
{% macro days_of(query) -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {{ return(values_read_once(
        'select distinct cast(cast(day as date) as ' ~ dbt.type_string() ~ ') as day_text from ('
        ~ query ~ ') as days_found where day is not null order by 1'
    )) }}
{%- endmacro %}


{#- A condition that `column` is one of `days` (from days_of()); false when there are none. -#}
{% macro is_one_of_days(column, days) -%}
    {%- if days | length == 0 -%}
        false
    {%- else -%}
        {{ column }} in (
        {%- for day in days -%}
            cast('{{ day }}' as date){% if not loop.last %}, {% endif %}
        {%- endfor -%}
        )
    {%- endif -%}
{%- endmacro %}


{#- The days (as days_of()) of the column `day_column` of this model, among its rows where
    `condition` holds if given, on which `relation`, a model kept by whole days of
    `relation_day_column`, holds no row any more: days it emptied since this model's latest
    build (their records all moved to other days or left), which no row written since tells.
    Only valid inside `{% if is_incremental() %}`. -#}
{% macro days_of_this_gone_from(relation, relation_day_column, day_column, condition=none) -%}
    {{ return(days_of(
        'select ' ~ day_column ~ ' as day from ' ~ this
        ~ (' where ' ~ condition if condition else '')
        ~ ' except select ' ~ relation_day_column ~ ' as day from ' ~ relation
    )) }}
{%- endmacro %}
