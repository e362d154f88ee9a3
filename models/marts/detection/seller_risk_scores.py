"""Seller risk scores from the model in force (seller_risk_models).

Thin adapter over governance.detection.risk_night.rows_to_write (DuckDB) and
governance.spark_detection.seller_risk_scores (Spark). Features are the SQL-built
seller_features (seller grain) plus syndicate membership, as the model was trained on.

On DuckDB the model is incremental (_detection__models.yml; delete+insert by seller_id): a night
writes only the rows of the sellers whose score or explanation can change, namely those whose
inputs (as the model reads them), model or scoring settings changed, and those whose place
moved across the explained top; the post-hook deletes the rows of sellers no longer scored.
The result is the table scoring every seller gives. A first build or a full refresh scores
everyone. On Spark the model is broadcast and every partition of sellers scored in parallel,
every seller each build.
"""

from governance import spark_detection
from governance.detection.risk import RiskParams
from governance.detection.risk_night import rows_to_write
from governance.detection.risk_registry import SELECTION_COLUMNS, load_model, model_in_force
from governance.frames import is_spark, table_or_none, to_pandas


def model(dbt, session):
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
    previous = table_or_none(session, dbt.this) if dbt.is_incremental else None
    return rows_to_write(
        session,
        dbt.ref("seller_features"),
        dbt.ref("seller_syndicates"),
        dbt.ref("syndicates"),
        previous,
        load_model(stored["model_pickle"].iloc[0]),
        params,
        model_id=in_force["model_id"],
    )
