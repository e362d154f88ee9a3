"""Strategy changes that could explain each incident, with the share of the incident's excess
their strategy's own actions account for, and whether that makes the change the likely cause.

Thin adapter over governance.root_cause.attribute_incident_causes: the candidates are the
changes metric_movement_interventions lists for one of the incident's days (strategies whose
actions feed the metric, changed shortly before or during the incident); each is measured on the
incident's anchor series (metric_anomalies: numerators, denominators, earlier flags) and the
strategy's numerator events (int_metric_strategy_events) against the expected count from the
weeks before the incident. Settings: vars anomaly_window_days and alert_cause_min_share.
"""

import pandas as pd

from governance.frames import to_pandas
from governance.root_cause import CauseParams, attribute_incident_causes


def _in_list(column: str, values) -> str:
    """SQL condition `column in (...)` over ``values`` (quotes doubled); false when empty."""
    quoted = ", ".join("'{}'".format(str(v).replace("'", "''")) for v in sorted(set(values)))
    return f"{column} in ({quoted})" if quoted else "false"


def model(dbt, session):
    dbt.config(materialized="table")
    params = CauseParams.from_mapping(dbt.config.get("cause_params"))
    incidents = to_pandas(dbt.ref("int_alert_incidents"))
    in_metrics = _in_list("metric_name", incidents["metric_name"])
    interventions = to_pandas(dbt.ref("metric_movement_interventions"), where=in_metrics)
    series = to_pandas(
        dbt.ref("metric_anomalies"),
        columns=[
            "metric_name",
            "region",
            "category",
            "metric_date",
            "numerator",
            "denominator",
            "is_anomaly",
        ],
        where=in_metrics,
    )
    of_candidates = _in_list("strategy_id", interventions["strategy_id"].dropna())
    events = to_pandas(
        dbt.ref("int_metric_strategy_events"), where=f"{in_metrics} and {of_candidates}"
    )
    feeds = to_pandas(dbt.ref("int_strategy_metric_feeds"))
    causes = attribute_incident_causes(incidents, interventions, series, events, feeds, params)
    causes["change_date"] = pd.to_datetime(causes["change_date"]).dt.date
    return causes
