{#- Primary-key test of a staging base model, whose rows are keyed by (source_file,
    file_row_number): one row per raw row. The key is established where the raw files are read
    (the Parquet reader numbers each file's rows 0, 1, 2, ...), so what a base model could break
    is the number of rows a raw row becomes: a join that fans a row out, or a night that writes
    a file's rows twice. Either leaves a file with more rows than row numbers; the test fails
    for every file whose row count is not its last row number + 1 or whose numbering does not
    start at 0. (A file that lost a row as well as repeating one could pass; losses are what the
    reconciliation of raw and staged rows counts, data_quality_reconciliation.) One pass over
    two columns, without reading the raw files, so nights run it too (10.5M raw orders: 0.1 s
    of CPU time against 2.4 s for an aggregate over every key). -#}
{% test one_row_per_raw_row(model) %}

with

files as (

    select
        source_file,
        count(*) as row_count,
        min(file_row_number) as first_row_number,
        max(file_row_number) as last_row_number
    from {{ model }}
    group by source_file

)

select
    source_file,
    row_count,
    first_row_number,
    last_row_number
from files
where
    first_row_number <> 0
    or row_count <> last_row_number + 1

{% endtest %}
