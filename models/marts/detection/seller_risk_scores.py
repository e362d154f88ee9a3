"""Seller risk scores from the model in force (seller_risk_models).

Thin adapter over governance.detection.risk.score. Features are the SQL-built seller_features
(seller grain) plus syndicate membership, as the model was trained on. The table of the
previous build is handed to the scorer, which keeps the score and explanation of every seller
whose inputs, as the model in force sees them, did not change (model_input_key) and scores the
others: the same result as scoring everyone. On Spark the model is broadcast and every
partition of sellers scored in parallel, every seller each build
(governance.spark_detection.seller_risk_scores).
"""

from governance import spark_detection
from governance.detection.risk import PREVIOUS_COLUMNS, RiskParams, score
from governance.detection.risk_features import read_risk_feature_frame
from governance.detection.risk_registry import SELECTION_COLUMNS, load_model, model_in_force
from governance.frames import is_spark, table_or_none, to_pandas


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
            model_id=in_force["model_id"],
        )
    trained = load_model(stored["model_pickle"].iloc[0])
    frame = read_risk_feature_frame(
        dbt.ref("seller_features"),
        dbt.ref("seller_syndicates"),
        dbt.ref("syndicates"),
        model_features=trained.features,
    )
    previous = table_or_none(session, dbt.this)
    if previous is not None and set(PREVIOUS_COLUMNS) <= set(previous.columns):
        previous = to_pandas(previous, list(PREVIOUS_COLUMNS))
    else:  # first build, or a table written before model_input_key existed
        previous = None
    return score(frame, trained, params, previous=previous, model_id=in_force["model_id"])
