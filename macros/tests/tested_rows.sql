{#- The rows a generic test reads: the typed rows of a raw source, and of a model whose rows
    carry the build that wrote them, the rows its latest build wrote (a night checks what it
    brought).

    Models that stamp each row they write with the start of the build (`processed_at`, from
    build_started_at(): the incremental models and the staging base models) let a test tell the
    rows the latest build wrote from the rows earlier builds wrote and checked. By induction over
    builds, checking only the written rows is the same as checking every row when
    - the test's verdict on a row depends on that row alone (not_null, accepted_values,
      expression_is_true): a row no build re-wrote keeps the verdict the build that wrote it
      gave (not so for relationships, whose verdict on an old child row changes when its parent
      row is deleted: they read every child row); and
    - every rule that involves several rows of the model is checked for each row written
      against the whole model (uniqueness: `duplicate_keys` in uniqueness.sql counts the keys
      the latest build wrote over every row), since a deletion cannot create a duplicate but a
      new row can repeat an old key.
    It is not the same when rows change without being stamped again (no model updates rows in
    place: incremental models delete and insert), when a build writes rows without running the
    tests (`--exclude resource_type:test`: its rows are checked by the next full build), or for a
    test of severity warn, which reports a bad row on the night that wrote it and not again.
    A full build writes every row, so its tests check every row. -#}


{#- dbt's where-subquery: the relation a generic test reads as `model`, with the test's own
    `where` config. Overrides dbt's default__get_where_subquery on every engine:
    - a test on a raw source reads the same typed rows as the base models (`typed_raw_rows`,
      macros/raw/typed_read.sql): a mistyped file cannot make a test compare text with a number;
    - a row test (`written_rows_tests()`) on a model that declares `processed_at` reads only the
      rows its latest build wrote (`written_rows_filter`);
    - any other test reads the whole relation, as in dbt. -#}
{% macro default__get_where_subquery(relation) -%}
    {%- set raw = is_raw_source(relation) -%}
    {%- set read = typed_raw_rows(relation) if raw else relation -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set written = none if raw else written_rows_filter(relation) -%}
    {%- if written -%}
        {%- do conditions.append(written) -%}
    {%- endif -%}
    {%- if conditions -%}
        {{ return('(select * from ' ~ read ~ (' as typed_raw' if raw else '') ~ ' where '
            ~ conditions | join(' and ') ~ ') dbt_subquery') }}
    {%- endif -%}
    {{ return(read) }}
{%- endmacro %}


{#- Whether `relation` is a table of the raw marketplace source. -#}
{% macro is_raw_source(relation) -%}
    {%- for node in graph.get('sources', {}).values() -%}
        {%- if node.source_name == 'marketplace' and node.identifier == relation.identifier
            and node.schema == relation.schema -%}
            {{ return(true) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(false) }}
{%- endmacro %}


{#- The generic tests whose verdict on a row depends on that row alone: they check only the
    rows the latest build of a stamped model wrote. -#}
{% macro written_rows_tests() -%}
    {{ return(['not_null', 'accepted_values', 'expression_is_true']) }}
{%- endmacro %}


{#- For the test being compiled: the condition that keeps the rows the latest build of
    `relation` wrote (`processed_at = <stamp>`), when the test is a row test and `relation` is the
    model it is attached to and that model declares `processed_at`; none otherwise (read every
    row). The latest build is this dbt invocation when it built the model (rows it wrote carry
    its start; none when it wrote nothing), else the stamp of the newest rows in the relation
    (`latest_build_processed_at`: none when every row has one stamp). -#}
{% macro written_rows_filter(relation) -%}
    {%- if not execute or model.resource_type != 'test' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set test_name = (model.test_metadata or {}).get('name') -%}
    {%- set attached = graph.nodes.get(model.attached_node) if model.attached_node else none -%}
    {%- if test_name not in written_rows_tests() or attached is none
        or attached.resource_type != 'model' or 'processed_at' not in attached.columns
        or relation.identifier != (attached.alias or attached.name) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if attached.unique_id in selected_resources -%}
        {{ return('processed_at = ' ~ build_started_at()) }}
    {%- endif -%}
    {%- set latest = latest_build_processed_at(relation) -%}
    {{ return('processed_at = ' ~ latest if latest is not none else none) }}
{%- endmacro %}


{#- The `processed_at` of the latest build's rows in `relation`, as a timestamp literal, when
    `relation` also holds rows written by earlier builds; none when `relation` is none, not built
    yet, empty, or wholly written by its latest build (check everything). -#}
{% macro latest_build_processed_at(relation) -%}
    {%- if relation is none or not execute or load_relation(relation) is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set bounds = run_query(
        'select cast(min(processed_at) as ' ~ dbt.type_string() ~ '), cast(max(processed_at) as '
        ~ dbt.type_string() ~ ') from ' ~ relation
    ) -%}
    {%- set first, latest = bounds.rows[0][0], bounds.rows[0][1] -%}
    {%- if latest is none or first == latest -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return("cast('" ~ latest ~ "' as " ~ dbt.type_timestamp() ~ ")") }}
{%- endmacro %}
