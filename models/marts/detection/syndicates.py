"""One row per detected syndicate: size, confirmed-bad share, shared signals, risk score and
the members not yet enforced.

Thin adapter over governance.detection.syndicates.detect_syndicates, with the same inputs and
parameters as seller_syndicates (the clustering is deterministic, so both tables agree).
"""

from governance.detection.syndicates import SyndicateParams, detect_syndicates
from governance.frames import to_pandas

SELLER_COLUMNS = [
    "seller_id",
    "region",
    "primary_category",
    "registered_at",
    "onboarded_at",
    "is_confirmed_bad",
    "is_enforced",
    "first_activity_at",
    "last_activity_at",
]


def model(dbt, session):
    dbt.config(materialized="table")
    params = SyndicateParams.from_mapping(dbt.config.get("syndicate_params"))
    links = to_pandas(dbt.ref("int_seller_identity_links"), where="n_sellers_sharing > 1")
    sellers = to_pandas(dbt.ref("seller_features"), SELLER_COLUMNS)
    _, syndicates = detect_syndicates(links, sellers, params)
    for column in ("first_activity_at", "last_activity_at"):
        syndicates[column] = syndicates[column].astype("datetime64[us]")
    return syndicates
