"""Anomalous series-days of metric_anomalies grouped into incidents.

Thin adapter over governance.alerts.assign_incidents: consecutive anomalous days of one series
(var alert_max_gap_days quiet days allowed) form a run, and a child segment's run joins its
parent's when both fire together. One row per anomalous series-day with its incident id.
"""

from governance.alerts import AlertParams, assign_incidents
from governance.frames import to_pandas


def model(dbt, session):
    dbt.config(materialized="table")
    params = AlertParams.from_mapping(dbt.config.get("alert_params"))
    anomalies = to_pandas(dbt.ref("metric_anomalies"), where="is_anomaly")
    return assign_incidents(anomalies, max_gap_days=params.max_gap_days)
