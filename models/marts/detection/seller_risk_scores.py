"""Seller risk scores from the model in force (seller_risk_models).

Thin adapter over governance.detection.risk.score. Features are the SQL-built seller_features
(seller grain) plus syndicate membership, as the model was trained on. On Spark the model is
broadcast and every partition of sellers scored in parallel
(governance.spark_detection.seller_risk_scores).
"""

from governance import spark_detection
from governance.detection.risk import RiskParams, score
from governance.detection.risk_features import read_risk_feature_frame
from governance.detection.risk_registry import SELECTION_COLUMNS, load_model, model_in_force
from governance.frames import is_spark, to_pandas


def model(dbt, session):
    dbt.config(materialized="table")
    params = RiskParams.from_mapping(dbt.config.get("risk_params"))
    as_of_date = to_pandas(dbt.ref("int_as_of_date"), ["as_of_date"])["as_of_date"].iloc[0]
    registry = dbt.ref("seller_risk_models")
    in_force = model_in_force(to_pandas(registry, list(SELECTION_COLUMNS)), as_of_date)
    if in_force is None:
        raise ValueError(f"seller_risk_models has no model trained on or before {as_of_date}")
    stored = to_pandas(registry, ["model_pickle"], where=f"model_id = '{in_force['model_id']}'")
    if is_spark(session):
        return spark_detection.seller_risk_scores(
            dbt.ref("seller_features"),
            dbt.ref("seller_syndicates"),
            dbt.ref("syndicates"),
            stored["model_pickle"].iloc[0],
            params,
        )
    trained = load_model(stored["model_pickle"].iloc[0])
    frame = read_risk_feature_frame(
        dbt.ref("seller_features"),
        dbt.ref("seller_syndicates"),
        dbt.ref("syndicates"),
        model_features=trained.features,
    )
    return score(frame, trained, params)
