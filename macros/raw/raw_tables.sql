{#- The raw tables of the marketplace source, in the order of the raw-data contract (parents
    before children): the one list the models that go over every raw table iterate
    (the row-disposition ledger, the raw row counts, the reconciliation). A pytest keeps it
    equal to the tables of models/staging/marketplace/_marketplace__sources.yml. -#}
{% macro marketplace_raw_tables() -%}
    {{ return([
        'sellers', 'seller_identity_signals', 'listings', 'strategies', 'strategy_changes',
        'strategy_hits', 'enforcement_actions', 'appeals', 'qa_case_checks', 'orders', 'complaints',
    ]) }}
{%- endmacro %}
