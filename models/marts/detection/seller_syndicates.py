"""Seller-level syndicate membership from shared identity signals.

Thin adapter over governance.detection.syndicates.detect_syndicates. It reads identity links at
seller × value grain (only values shared by two or more sellers) and seller features, never the
raw signal event log.
"""

from governance.detection.syndicates import (
    SELLER_ATTRIBUTE_COLUMNS,
    SyndicateParams,
    detect_syndicates,
)
from governance.frames import for_engine, to_pandas


def model(dbt, session):
    dbt.config(materialized="table")
    params = SyndicateParams.from_mapping(dbt.config.get("syndicate_params"))
    links = to_pandas(dbt.ref("int_seller_identity_links"), where="n_sellers_sharing > 1")
    sellers = to_pandas(dbt.ref("seller_features"), SELLER_ATTRIBUTE_COLUMNS)
    seller_syndicates, _ = detect_syndicates(links, sellers, params)
    return for_engine(session, seller_syndicates)
