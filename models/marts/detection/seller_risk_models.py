"""Trained seller risk models, one row per training: a new one when the model in force is
risk_retrain_days old (or its inputs or settings changed), none otherwise.

Thin adapter over governance.detection.risk.train and governance.detection.risk_registry.
Kept through --full-refresh: the registry is the history of the models that scored sellers.
"""

from governance.detection.risk import RiskParams, train
from governance.detection.risk_features import read_risk_feature_frame
from governance.detection.risk_registry import (
    SELECTION_COLUMNS,
    model_in_force,
    no_new_model,
    registry_row,
    retrain_reason,
)
from governance.frames import for_engine, to_pandas


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        unique_key="model_id",
        full_refresh=False,
        on_schema_change="append_new_columns",
    )
    params = RiskParams.from_mapping(dbt.config.get("risk_params"))
    retrain_days = dbt.config.get("risk_retrain_days")
    as_of_date = to_pandas(dbt.ref("int_as_of_date"), ["as_of_date"])["as_of_date"].iloc[0]
    features = dbt.ref("seller_features")
    in_force, built = None, []
    if dbt.is_incremental:
        built = [session.sql(f"select * from {dbt.this}")]
        in_force = model_in_force(to_pandas(built[0], list(SELECTION_COLUMNS)), as_of_date)
    reason = retrain_reason(in_force, as_of_date, features.columns, params, retrain_days)
    if reason is None:
        return for_engine(session, no_new_model(), *built)
    frame = read_risk_feature_frame(features, dbt.ref("seller_syndicates"), dbt.ref("syndicates"))
    return registry_row(train(frame, params), as_of_date, reason, features.columns, params)
