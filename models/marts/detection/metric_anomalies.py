"""Anomaly flags on every mature, complete series of metrics_daily.

Thin adapter: the detector lives in governance.detection.anomaly (seasonal, robust,
denominator-aware, Benjamini-Hochberg per day and segment level; a ratio of sums judged on its
effective counts from int_metric_sums_daily); thresholds come from dbt vars
through the model config. A cohort before the coverage of the source its metric counts
(metrics_daily.is_complete false) is neither judged nor history. The table of the previous
build is handed to the detector, which keeps its rows up to the first day whose metrics changed
and judges the days from there (the same result as judging every day: a day depends only on
earlier days). On Spark each independent group of series is judged in its own task
(governance.spark_detection.metric_anomalies), with the previous build's rows of its series;
dbt-spark drops a table before building it, so the table is kept under another name for the
model (macros/engine/previous_output.sql).
"""

import pandas as pd

from governance import spark_detection
from governance.detection.anomaly import EFFECTIVE_COLUMNS, AnomalyParams, detect_metric_anomalies
from governance.frames import is_spark, previous_output, to_pandas

KEYS = ["metric_name", "metric_date", "region", "category"]


def model(dbt, session):
    dbt.config(materialized="table")
    params = AnomalyParams.from_mapping(dbt.config.get("anomaly_params"))
    previous = previous_output(session, dbt.this, dbt.config.get("previous_output_suffix"))
    if is_spark(session):
        metrics = dbt.ref("metrics_daily").filter("is_mature and is_complete")
        effective = dbt.ref("int_metric_sums_daily").select(*KEYS, *EFFECTIVE_COLUMNS)
        metrics = metrics.join(effective, on=KEYS, how="left")
        if previous is not None:
            print(f"metric_anomalies: resuming from the previous build ({previous.count()} rows)")
        return spark_detection.metric_anomalies(metrics, params, previous=previous)
    metrics = to_pandas(dbt.ref("metrics_daily"), where="is_mature and is_complete")
    # The binomial counts of the noise model (the Kish effective counts of a ratio of sums).
    effective = to_pandas(dbt.ref("int_metric_sums_daily"), columns=[*KEYS, *EFFECTIVE_COLUMNS])
    metrics = metrics.merge(effective, on=KEYS, how="left", validate="one_to_one")
    if previous is not None:
        previous = to_pandas(previous)
    anomalies = detect_metric_anomalies(metrics, params, previous=previous)
    anomalies["metric_date"] = pd.to_datetime(anomalies["metric_date"]).dt.date
    return anomalies
