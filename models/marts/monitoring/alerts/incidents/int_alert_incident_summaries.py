"""One plain-language paragraph per incident, for the policy managers who read `alerts`.

Thin adapter over governance.alerts.summarize_incidents: reads the incident facts, their top
contributing segments and coinciding strategy changes, and writes incident_id and summary.
"""

from governance.alerts import summarize_incidents
from governance.frames import to_pandas


def model(dbt, session):
    dbt.config(materialized="table")
    incidents = to_pandas(dbt.ref("int_alert_incidents"))
    segments = to_pandas(dbt.ref("int_alert_incident_segments"))
    changes = to_pandas(dbt.ref("int_alert_incident_changes"))
    return summarize_incidents(incidents, segments, changes)
