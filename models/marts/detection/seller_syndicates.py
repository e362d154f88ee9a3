"""Seller-level syndicate membership from shared identity signals.

Thin adapter over governance.detection.syndicates.detect_syndicates. It reads identity links at
seller × value grain (only values shared by two or more sellers) and seller features, never the
raw signal event log. On Spark every stage runs distributed, with the same functions
(governance.spark_syndicates.seller_syndicates).
"""

from governance import spark_syndicates
from governance.detection.syndicates import (
    LINK_COLUMNS,
    SELLER_ATTRIBUTE_COLUMNS,
    SyndicateParams,
    detect_syndicates,
)
from governance.frames import for_engine, is_spark, to_pandas


def model(dbt, session):
    dbt.config(materialized="table")
    params = SyndicateParams.from_mapping(dbt.config.get("syndicate_params"))
    if is_spark(session):
        links = dbt.ref("int_seller_identity_links").filter("n_sellers_sharing > 1")
        sellers = dbt.ref("seller_features").select(*SELLER_ATTRIBUTE_COLUMNS)
        return spark_syndicates.seller_syndicates(links, sellers, params)
    links = to_pandas(
        dbt.ref("int_seller_identity_links"), LINK_COLUMNS, where="n_sellers_sharing > 1"
    )
    sellers = to_pandas(dbt.ref("seller_features"), SELLER_ATTRIBUTE_COLUMNS)
    seller_syndicates, _ = detect_syndicates(links, sellers, params)
    return for_engine(session, seller_syndicates)
