{#- Nightly runs of fct_completed_orders, incremental on DuckDB. A night re-writes whole only the
    order days it must (order_days_reprocessed()), and examines the other orders one by one:
    those an input the night brought can change (orders_examined()). Of these it writes the
    orders whose row differs from the stored one, and every order whose own record changed; a
    post-hook then deletes the rows they replace (delete_orders_replaced()). A late complaint
    about an order of ten days ago thus re-writes that order, not its day. Every row written
    carries the build's stamp, so the publish re-writes the days that hold one and
    int_metric_counts_daily re-counts them. -#}


{#- The order days re-written whole, as one condition on the order day `day_expression`, or,
    given `at_column` (the order time), on that time (a range of times the engine prunes the
    raw orders' storage with):
    - those of the lookback window (orders delivered late or again, macros/incremental/windows.sql);
    - those whose maturity or completeness flag for one of the fact's metrics changes with the
      new reporting date or coverage start (every order of such a day changes).
    Read when the run starts; the pre-hook deletes them (delete_days_reprocessed()). -#}
{% macro order_days_reprocessed(day_expression, at_column=none) -%}
    {%- set first_day = incremental_window_first_day('ordered_at') -%}
    {%- set flipped_days = order_days_flipped() %}
    {%- if at_column %}
        {%- set from_first_day = at_column ~ ' >= cast(cast(\'' ~ first_day ~ '\' as date) as '
            ~ dbt.type_timestamp() ~ ')' %}
        {%- set on_flipped_days = is_one_of_days('cast(' ~ at_column ~ ' as date)', flipped_days) %}
    {%- else %}
        {%- set from_first_day = day_expression ~ ' >= cast(\'' ~ first_day ~ '\' as date)' %}
        {%- set on_flipped_days = is_one_of_days(day_expression, flipped_days) %}
    {%- endif %}
    {{- return('(' ~ from_first_day ~ ' or ' ~ on_flipped_days ~ ')') }}
{%- endmacro %}


{#- The order days (days_of()) whose maturity or completeness flag for one of the fact's metrics
    changes with the new reporting date or coverage start. -#}
{% macro order_days_flipped() -%}
    {{- return(days_of(
        'select cohorts.ordered_date as day from (' ~ order_cohort_status_in_this() ~ ') as cohorts'
        ~ ' where ' ~ order_cohort_flags_changed('cohorts')
    )) }}
{%- endmacro %}


{#- The earliest order day (a 'YYYY-MM-DD' string) an incremental run re-writes or examines: the
    model's select bounds the orders' times with it, a range the engine prunes storage with (it
    prunes none with a condition of several alternatives). -#}
{% macro earliest_order_day_read() -%}
    {{- return(([incremental_window_first_day('ordered_at')] + order_days_flipped()
        + order_days_examined()) | min) }}
{%- endmacro %}


{#- The metrics whose outcome model is the order fact (complaint_rate, violating_gmv_share). -#}
{% macro order_fact_metric_names() -%}
    {%- set names = [] %}
    {%- for metric in metric_registry() if metric.outcome.model == 'fct_completed_orders' %}
        {%- do names.append(metric.name) %}
    {%- endfor %}
    {{- return(names) }}
{%- endmacro %}


{#- A query of this model's order days with their stored cohort flags (`was_<flag>`) and those the
    current reporting date and coverage give (`<flag>`, cohort_status_columns()). -#}
{% macro order_cohort_status_in_this() -%}
    {%- set names = order_fact_metric_names() -%}
    select
        facts.ordered_date
        {%- for name in names %},
        facts.is_{{ name }}_mature as was_is_{{ name }}_mature,
        facts.is_{{ name }}_complete as was_is_{{ name }}_complete,
        {{ cohort_status_columns('facts.ordered_date', name ~ '_maturity', name) }}
        {%- endfor %}
    from (
        select distinct
            ordered_date
            {%- for name in names %},
            is_{{ name }}_mature,
            is_{{ name }}_complete
            {%- endfor %}
        from {{ this }}
    ) as facts
    {%- for name in names %}
    cross join (
        select * from {{ ref('int_metric_maturity') }} where metric_name = '{{ name }}'
    ) as {{ name }}_maturity
    {%- endfor %}
{%- endmacro %}


{#- A condition on `alias` (order_cohort_status_in_this()) that one of its flags changed. -#}
{% macro order_cohort_flags_changed(alias) -%}
    {%- set changed = [] -%}
    {%- for name in order_fact_metric_names() -%}
        {%- for flag in ('is_' ~ name ~ '_mature', 'is_' ~ name ~ '_complete') -%}
            {%- do changed.append(alias ~ '.was_' ~ flag ~ ' <> ' ~ alias ~ '.' ~ flag) -%}
        {%- endfor -%}
    {%- endfor -%}
    ({{ changed | join(' or ') }})
{%- endmacro %}


{#- A query of the order records (`order_id`, `day`: the order day of each version) written since
    this model's latest build: orders delivered late or again, the versions they supersede,
    orphans whose listing arrived, on the days of the complaint window before the lookback
    window or later (the days a night re-processed whole before it examined orders one by one;
    an older correction is reported, governance.reprocessing). Every one of them is re-written:
    the post-hook deletes its old row, wherever its new one falls, or none if it left (no
    longer completed, quarantined). -#}
{% macro orders_delivered_again() -%}
    {%- set orders = ref('base_marketplace__orders') -%}
    {%- set first_day = incremental_window_first_day('ordered_at', complaint_window_days()) -%}
    select order_versions.record_key as order_id, cast(order_versions.ordered_at as date) as day
    from {{ orders }} as order_versions
    where
        {{ written_since_latest_build_of_this('order_versions') }}
        and order_versions.record_key in (
            select recent.record_key from {{ orders }} as recent
            where
                {{ written_since_latest_build_of_this('recent') }}
                and recent.ordered_at >= cast(cast('{{ first_day }}' as date) as {{ dbt.type_timestamp() }})
        )
{%- endmacro %}


{#- A query of the orders (`order_id`, `day`: the order day of its stored row, or of a version
    of its record) a night examines one by one, whatever their day: those whose record changed
    (orders_delivered_again()); those named by a complaint record written since this model's
    latest build (a new or late complaint, the version it supersedes, an orphan whose order
    arrived) or by a staged complaint the reporting cutoff moved across (after the latest
    order time this model holds, which stands for the cutoff of its latest build); those
    whose listing's segment or seller int_listing_segments re-wrote with other values (or no
    longer holds: a listing quarantined since); whose seller's type changed; and whose
    listing's outcome the linked listing outcome model re-wrote with another flag (a listing
    action within its window, an overturn on appeal however late). Each part is a join from a
    small set of keys. Given `days` (order_days_examined(), the days of these very rows), the
    parts reading this model read only the rows of those days: the same orders, without a
    second pass over the whole fact (the days are read first, from the whole fact). Only valid
    inside `{% if is_incremental() %}`. -#}
{% macro orders_examined(days=none) -%}
    {%- set linked = metric_definition(metric_definition('violating_gmv_share').numerator_actions.metric) -%}
    {%- set segments = ref('int_listing_segments') %}
    {%- set changed_sellers = record_keys_written_since_latest_build_of_this(ref('base_marketplace__sellers')) %}
    {%- set listings_without_segment = 'select changed_rows.record_key from '
        ~ ref('base_marketplace__listings') ~ ' as changed_rows where '
        ~ written_since_latest_build_of_this('changed_rows')
        ~ ' and not exists (select 1 from ' ~ segments ~ ' as kept'
        ~ ' where kept.listing_id = changed_rows.record_key)' %}
    {%- set complaints_changed -%}
        select complaint_versions.order_id, complaint_versions.created_at
        from {{ ref('base_marketplace__complaints') }} as complaint_versions
        where {{ written_since_latest_build_of_this('complaint_versions') }}
        union all
        select complaints.order_id, complaints.created_at
        from {{ ref('stg_marketplace__complaints') }} as complaints
        where
            complaints.created_at >= {{ latest_time_in_this('ordered_at') }}
            and complaints.created_at < {{ reporting_cutoff_at() }}
    {%- endset %}
    {#- A complaint counts only for an order placed at most the complaint window before it: the
        earliest such order day bounds the read of this model (a constant it prunes storage with). #}
    {%- set on_days_read = '' if days is none else ' and ' ~ is_one_of_days('facts.ordered_date', days) %}
    {%- set earliest_complaint = value_read_once(
        'select cast(cast(min(created_at) as date) as ' ~ dbt.type_string() ~ ') from ('
        ~ complaints_changed ~ ') as changed where order_id is not null'
    ) %}
    {{ orders_delivered_again() }}
    {%- if earliest_complaint %}
    union all
    select facts.order_id, facts.ordered_date as day from {{ this }} as facts
    where
        facts.ordered_date >= cast('{{ (modules.datetime.date.fromisoformat(earliest_complaint | string)
            - modules.datetime.timedelta(days=complaint_window_days())).isoformat() }}' as date)
        and facts.order_id in (select changed.order_id from ({{ complaints_changed }}) as changed)
        {{- on_days_read }}
    {%- endif %}
    union all
    select facts.order_id, facts.ordered_date as day from {{ this }} as facts
    inner join {{ segments }} as segments
        on facts.listing_id = segments.listing_id
    where
        {{ written_since_latest_build_of_this('segments') }}
        and (
            facts.region is distinct from segments.region
            or facts.category is distinct from segments.category
            or facts.seller_id is distinct from segments.seller_id
        )
        {{- on_days_read }}
    union all
    select facts.order_id, facts.ordered_date as day from {{ this }} as facts
    where facts.listing_id in ({{ listings_without_segment }}){{ on_days_read }}
    union all
    select facts.order_id, facts.ordered_date as day from {{ this }} as facts
    left join {{ ref('stg_marketplace__sellers') }} as sellers
        on facts.seller_id = sellers.seller_id
    where
        facts.seller_id in ({{ changed_sellers }})
        and facts.seller_type is distinct from sellers.seller_type
        {{- on_days_read }}
    union all
    select facts.order_id, facts.ordered_date as day from {{ this }} as facts
    inner join {{ ref(linked.outcome.model) }} as listing_outcomes
        on facts.listing_id = listing_outcomes.{{ linked.outcome.key }}
    where
        {{ written_since_latest_build_of_this('listing_outcomes') }}
        and facts.is_on_violating_listing <> listing_outcomes.{{ linked.outcome.flag }}
        {{- on_days_read }}
{%- endmacro %}


{#- The days (days_of()) of the orders examined one by one, read when the run starts: the
    model's select and the post-hook prune the storage of both the orders and this model
    with them. -#}
{% macro order_days_examined() -%}
    {{- return(days_of(orders_examined())) }}
{%- endmacro %}


{#- The days of order_days_examined() a night does not re-write whole (order_days_reprocessed()):
    the only days whose stored rows it compares with the rows it computes, and whose orders it
    reads one by one. -#}
{% macro order_days_examined_apart() -%}
    {%- set first_day = incremental_window_first_day('ordered_at') -%}
    {%- set flipped_days = order_days_flipped() -%}
    {%- set days = [] -%}
    {%- for day in order_days_examined() if day < first_day and day not in flipped_days -%}
        {%- do days.append(day) -%}
    {%- endfor -%}
    {{- return(days) }}
{%- endmacro %}


{#- Post-hook of fct_completed_orders: on an incremental run, deletes the rows that the orders
    written one by one replace, those of an earlier build of an order this build wrote or of an
    order whose record changed (orders_delivered_again(): an order no longer completed keeps no
    row). The days re-written whole were deleted before (the pre-hook). -#}
{% macro delete_orders_replaced() -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where
            processed_at < {{ build_started_at() }}
            and {{ is_one_of_days('ordered_date', order_days_examined()) }}
            and (
                order_id in (
                    select written.order_id from {{ this }} as written
                    where written.processed_at = {{ build_started_at() }}
                )
                or order_id in (select delivered.order_id from ({{ orders_delivered_again() }}) as delivered)
            )
    {%- endif -%}
{%- endmacro %}
