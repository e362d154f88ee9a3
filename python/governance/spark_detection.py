"""The detection models distributed over a Spark session, with the package's own algorithms.

The dbt Python models call these on the spark target (``governance.frames.is_spark``); on DuckDB
they call the algorithms directly. Nothing here re-implements an algorithm: each function splits
the input where the algorithm allows it and runs the engine-agnostic pandas function on every
part in parallel (``applyInPandas``, ``mapInPandas``), so the result is the one the algorithm
gives on all rows at once.

- :func:`metric_anomalies`: one task per group of series the detector judges independently
  (``anomaly.independent_series_groups``: a level of the segment hierarchy, across metrics).
- :func:`seller_risk_scores`: the model trained on the driver (``seller_risk_models``) is
  broadcast; every partition of sellers is scored by ``risk.score`` (``mapInPandas``), and
  then the ``explain_max_rows`` highest scored are explained the same way.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from governance.detection.anomaly import (
    OUTPUT_COLUMNS,
    AnomalyParams,
    detect_metric_anomalies,
    independent_series_groups,
)
from governance.detection.risk import RiskParams, score
from governance.detection.risk_features import MEMBERSHIP_COLUMNS, risk_feature_frame
from governance.detection.risk_registry import load_model

_ANOMALY_TYPES = {
    "metric_date": "date",
    "is_anomaly": "boolean",
    "history_days": "bigint",
    "history_excluded": "bigint",
}
_ANOMALY_TYPES.update(
    dict.fromkeys(
        ["metric_name", "region", "category", "direction", "severity", "method"], "string"
    )
)
_ANOMALY_TYPES["detector_fingerprint"] = "string"
ANOMALY_SCHEMA = ", ".join(f"{c} {_ANOMALY_TYPES.get(c, 'double')}" for c in OUTPUT_COLUMNS)
RISK_SCORE_SCHEMA = (
    "seller_id string, risk_score double, risk_band string, model_version string, "
    "top_features string, is_out_of_time boolean, model_input_key string"
)
_GROUP = "_independent_group"


def _with_group(frame, params: AnomalyParams):
    from pyspark.sql import functions as F

    conditions = independent_series_groups(params)
    key = (
        F.concat_ws("|", *[F.expr(c).cast("string") for c in conditions])
        if conditions
        else F.lit("")
    )
    return frame.withColumn(_GROUP, key)


def metric_anomalies(metrics, params: AnomalyParams, previous=None):
    """``detect_metric_anomalies`` of the Spark DataFrame ``metrics`` (mature, complete rows of
    metrics_daily), one task per independent group of series; ``previous`` (the table as built
    before, or None) is handed to each group's detector. A Spark DataFrame of metric_anomalies."""
    metrics = _with_group(metrics, params)

    def detect(group: pd.DataFrame, before: pd.DataFrame) -> pd.DataFrame:
        group = group.drop(columns=[_GROUP])
        before = before.drop(columns=[_GROUP]) if len(before) else None
        found = detect_metric_anomalies(group, params, previous=before)
        found["metric_date"] = pd.to_datetime(found["metric_date"]).dt.date
        return found[OUTPUT_COLUMNS]

    if previous is None:
        previous = metrics.sparkSession.createDataFrame([], ANOMALY_SCHEMA)
    previous = _with_group(previous, params)
    grouped = metrics.groupBy(_GROUP).cogroup(previous.groupBy(_GROUP))
    return grouped.applyInPandas(detect, schema=ANOMALY_SCHEMA)


def seller_risk_scores(
    features, memberships, syndicates, model_pickle: str, params: RiskParams, model_id: str = ""
):
    """``risk.score`` of every seller of the Spark DataFrame ``features`` (seller_features) with
    the model stored in ``model_pickle`` (the registry's ``model_id``), partition by partition;
    ``memberships`` and ``syndicates`` are seller_syndicates and syndicates. A Spark DataFrame
    of seller_risk_scores. Every seller is scored and explained each build (the previous
    build's scores are not read, unlike on DuckDB; the result is the same)."""
    from pyspark.sql import functions as F

    spark = features.sparkSession
    model = spark.sparkContext.broadcast(model_pickle)
    feature_columns = features.columns
    members = memberships.select(*MEMBERSHIP_COLUMNS).filter("syndicate_id is not null")
    sizes = syndicates.select("syndicate_id", F.col("size").alias("_syndicate_size"))
    sellers = features.join(members, on="seller_id", how="left").join(
        sizes, on="syndicate_id", how="left"
    )

    def scorer(explain_max_rows: int):
        scoring = dataclasses.replace(params, explain_max_rows=explain_max_rows)

        def score_partitions(batches):
            trained = load_model(model.value)
            for batch in batches:
                frame = risk_feature_frame(
                    batch[feature_columns],
                    batch.loc[batch["syndicate_id"].notna(), MEMBERSHIP_COLUMNS],
                    batch[["syndicate_id", "_syndicate_size"]]
                    .dropna(subset=["syndicate_id"])
                    .drop_duplicates("syndicate_id")
                    .rename(columns={"_syndicate_size": "size"}),
                    model_features=trained.features,
                )
                yield score(frame, trained, scoring, model_id=model_id)

        return score_partitions

    scored = sellers.mapInPandas(scorer(0), schema=RISK_SCORE_SCHEMA).cache()
    top = scored.orderBy(F.desc("risk_score"), "seller_id").limit(params.explain_max_rows)
    to_explain = sellers.join(top.select("seller_id"), on="seller_id", how="left_semi")
    explained = to_explain.mapInPandas(scorer(params.explain_max_rows), schema=RISK_SCORE_SCHEMA)
    unexplained = scored.join(top.select("seller_id"), on="seller_id", how="left_anti")
    # No fingerprint: a Spark build scores every seller (governance.detection.risk_night).
    return explained.unionByName(unexplained).withColumn(
        "input_fingerprint", F.lit(None).cast("bigint")
    )
