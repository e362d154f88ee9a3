{#- Nightly runs of seller_risk_scores, incremental on DuckDB (delete+insert by seller_id): the
    model writes the rows of the sellers whose score or explanation can change
    (governance.detection.risk_night), and dbt's delete+insert replaces only the sellers it
    writes. A seller the model no longer scores keeps a row unless it is deleted here. -#}


{#- Post-hook of seller_risk_scores: on an incremental run, deletes the rows of the sellers
    without a row of seller_features that has an onboarding time (a seller record quarantined,
    or delivered again without one; a build as of an earlier day than the seller's
    registration): the sellers the model scores are those
    (governance.detection.risk_features.SCORED_SELLERS). A post-hook, in the model's
    transaction: a delete before the model, in that transaction, hides from it the table dbt's
    Python model writes its rows to. Nothing on a full build. -#}
{% macro delete_risk_scores_of_sellers_no_longer_scored() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} as scores
        where not exists (
            select 1
            from {{ ref('seller_features') }} as features
            where
                features.seller_id = scores.seller_id
                and features.onboarded_at is not null
        )
    {%- endif -%}
{%- endmacro %}
