"""One row per detected syndicate: size, confirmed-bad share, shared signals, risk score and
the members not yet enforced.

Thin adapter over governance.detection.syndicates.summarize_syndicates: it summarises the
memberships of seller_syndicates (the clustering runs once, there) with the same links, seller
features and parameters, scoring only the values that members hold. On Spark each syndicate
is summarised in its own task (governance.spark_syndicates.syndicates).
"""

from governance import spark_syndicates
from governance.detection.syndicates import (
    LINK_COLUMNS,
    SELLER_ATTRIBUTE_COLUMNS,
    SyndicateParams,
    summarize_syndicates,
)
from governance.frames import for_engine, is_spark, to_pandas

MEMBER_COLUMNS = ["seller_id", "syndicate_id", "membership_strength"]


def model(dbt, session):
    dbt.config(materialized="table")
    params = SyndicateParams.from_mapping(dbt.config.get("syndicate_params"))
    if is_spark(session):
        links = dbt.ref("int_seller_identity_links").filter("n_sellers_sharing > 1")
        sellers = dbt.ref("seller_features").select(*SELLER_ATTRIBUTE_COLUMNS)
        memberships = dbt.ref("seller_syndicates").select(*MEMBER_COLUMNS)
        return spark_syndicates.syndicates(links, sellers, memberships, params)
    members = to_pandas(
        dbt.ref("seller_syndicates"), MEMBER_COLUMNS, where="syndicate_id is not null"
    )
    links = to_pandas(
        dbt.ref("int_seller_identity_links"), LINK_COLUMNS, where="n_sellers_sharing > 1"
    )
    sellers = to_pandas(dbt.ref("seller_features"), SELLER_ATTRIBUTE_COLUMNS)
    syndicates = summarize_syndicates(links, sellers, members, params)
    for column in ("first_activity_at", "last_activity_at"):
        syndicates[column] = syndicates[column].astype("datetime64[us]")
    return for_engine(session, syndicates)
