"""Anomaly flags on every mature series of metrics_daily.

Thin adapter: the detector lives in governance.detection.anomaly (seasonal, robust,
denominator-aware, Benjamini-Hochberg per day and segment level); thresholds come from dbt vars
through the model config.
"""

import pandas as pd

from governance.detection.anomaly import AnomalyParams, detect_metric_anomalies
from governance.frames import to_pandas


def model(dbt, session):
    dbt.config(materialized="table")
    params = AnomalyParams.from_mapping(dbt.config.get("anomaly_params"))
    metrics = to_pandas(dbt.ref("metrics_daily"), where="is_mature")
    anomalies = detect_metric_anomalies(metrics, params)
    anomalies["metric_date"] = pd.to_datetime(anomalies["metric_date"]).dt.date
    return anomalies
