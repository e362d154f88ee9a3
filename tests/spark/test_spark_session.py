"""dbt-spark learns the `session` submission method for dbt Python models (no Spark started)."""

from __future__ import annotations

import pytest

from governance.spark_session import SessionPythonJobHelper, install_session_submission

pytest.importorskip("dbt.adapters.spark", reason="needs dbt-spark (the 'spark' extra)")


class _Credentials:
    def __init__(self, method: str):
        self.method = method
        self.server_side_parameters = {"spark.sql.session.timeZone": "UTC"}


class _Config:
    def __init__(self, method: str):
        self.credentials = _Credentials(method)


def test_session_is_a_submission_method_and_the_default_for_the_session_connection():
    from dbt.adapters.spark.impl import SparkAdapter

    assert install_session_submission() is True
    assert install_session_submission() is True  # idempotent
    adapter = SparkAdapter.__new__(SparkAdapter)
    adapter.config = _Config("session")
    assert adapter.python_submission_helpers["session"] is SessionPythonJobHelper
    assert "all_purpose_cluster" in adapter.python_submission_helpers
    assert adapter.default_python_submission_method == "session"
    adapter.config = _Config("thrift")
    assert adapter.default_python_submission_method == "all_purpose_cluster"


def test_the_helper_keeps_the_profiles_spark_settings():
    helper = SessionPythonJobHelper({"alias": "metric_anomalies"}, _Credentials("session"))
    assert helper.model_name == "metric_anomalies"
    assert helper.server_side_parameters == {"spark.sql.session.timeZone": "UTC"}
