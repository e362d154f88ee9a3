{#- Codes the raw contract accepts in coded columns that have no seed. The seeds (regions,
    categories, policies) hold the other code lists. Kept equal to the accepted_values tests of
    the marketplace source (a pytest compares them). -#}

{% macro marketplace_accepted_codes(table_name, column_name) -%}
    {%- set codes = {
        'sellers': {'seller_type': ['individual', 'business']},
        'seller_identity_signals': {
            'signal_type': ['device_id', 'ip_address', 'bank_account', 'address', 'phone'],
        },
        'strategies': {'strategy_type': ['rule', 'model'], 'target_type': ['listing', 'seller']},
        'strategy_changes': {
            'change_type': ['launch', 'threshold_change', 'rollback', 'retire'],
        },
        'strategy_hits': {'target_type': ['listing', 'seller']},
        'enforcement_actions': {
            'target_type': ['listing', 'seller'],
            'action_type': [
                'listing_takedown', 'listing_limit', 'seller_warning', 'seller_suspension',
                'seller_ban',
            ],
        },
        'appeals': {'outcome': ['upheld', 'overturned']},
        'qa_case_checks': {'target_type': ['listing', 'seller'], 'sample_type': ['random', 'flagged']},
        'orders': {'order_status': ['completed', 'cancelled', 'refunded']},
        'complaints': {
            'reason': ['counterfeit', 'not_as_described', 'not_received', 'prohibited_item', 'other'],
        },
    } -%}
    {{ return(codes[table_name][column_name]) }}
{%- endmacro %}
