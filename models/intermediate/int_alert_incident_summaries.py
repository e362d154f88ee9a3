"""One plain-language paragraph per incident, for the policy managers who read `alerts`.

Thin adapter over governance.alerts.summarize_incidents: reads the incident facts, their top
contributing segments and coinciding strategy changes, and writes incident_id and summary.
"""

from governance.alerts import summarize_incidents


def model(dbt, session):
    dbt.config(materialized="table")
    incidents = dbt.ref("int_alert_incidents").df()
    segments = dbt.ref("int_alert_incident_segments").df()
    changes = dbt.ref("int_alert_incident_changes").df()
    return summarize_incidents(incidents, segments, changes)
