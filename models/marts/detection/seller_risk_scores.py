"""Supervised seller risk scores with out-of-time validation.

Thin adapter over governance.detection.risk.train_and_score. Features are the SQL-built
seller_features (seller grain) plus syndicate membership; the label is the confirmed-bad flag
where it has matured, null otherwise.
"""

from governance.detection.risk import RiskParams, train_and_score
from governance.detection.risk_features import risk_feature_frame
from governance.frames import to_pandas


def model(dbt, session):
    dbt.config(materialized="table")
    params = RiskParams.from_mapping(dbt.config.get("risk_params"))
    features = to_pandas(dbt.ref("seller_features"))
    memberships = to_pandas(dbt.ref("seller_syndicates"))
    syndicates = to_pandas(dbt.ref("syndicates"), ["syndicate_id", "size"])
    frame = risk_feature_frame(features, memberships, syndicates)
    scores, _ = train_and_score(frame, params)
    return scores
