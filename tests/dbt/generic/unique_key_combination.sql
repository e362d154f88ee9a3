{#- Fails for every combination of `columns` that appears more than once. With
    `latest_rows_of`, only the combinations found among the rows the latest build wrote to that
    relation are checked (see the `unique` test). -#}
{% test unique_key_combination(model, columns, latest_rows_of=none) %}
    {%- set latest = latest_build_processed_at(latest_rows_of) %}
    {%- if latest is none %}
    select
        {{ columns | join(', ') }},
        count(*) as row_count
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
    {%- else %}
    with

    written as (

        select distinct {{ columns | join(', ') }}
        from {{ latest_rows_of }}
        where processed_at = {{ latest }}

    )

    select
        {%- for column in columns %}
        tested.{{ column }},
        {%- endfor %}
        count(*) as row_count
    from {{ model }} as tested
    inner join written
        on
            {%- for column in columns %}
            {% if not loop.first %}and {% endif %}tested.{{ column }} = written.{{ column }}
            {%- endfor %}
    group by
        {%- for column in columns %}
        tested.{{ column }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    having count(*) > 1
    {%- endif %}
{% endtest %}
