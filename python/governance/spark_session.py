"""dbt Python models on dbt-spark's session method, in the dbt process's own Spark session.

dbt-spark submits a Python model to a Databricks cluster (``submission_method`` job_cluster or
all_purpose_cluster); its session method, a local or cluster Spark session in the dbt process,
has no way to run one. This module adds the submission method ``session``, the default when the
profile's method is ``session``: the compiled model (the model file, dbt's ``dbtObj`` with
``ref`` and ``source`` reading Spark tables, and dbt-spark's code that writes the returned
DataFrame as the model's table) runs in the Spark session dbt's SQL runs in, with the profile's
``server_side_parameters``. So one ``dbt build`` on the spark target builds every model in DAG
order, SQL and Python alike, and runs each model's data tests after it.

dbt loads it through the ``dbt_governance`` plugin module (dbt-core imports every installed
module whose name starts with ``dbt_`` and initialises the plugins it lists).
"""

from __future__ import annotations

import importlib.util
import os
import sys

SUBMISSION_METHOD = "session"


class SessionPythonJobHelper:
    """Runs a compiled dbt Python model in the Spark session of the dbt process."""

    def __init__(self, parsed_model: dict, credentials) -> None:
        self.model_name = parsed_model.get("alias") or parsed_model.get("name")
        self.server_side_parameters = dict(getattr(credentials, "server_side_parameters", {}))

    def spark_session(self):
        from pyspark.sql import SparkSession

        builder = SparkSession.builder.enableHiveSupport()
        for parameter, value in self.server_side_parameters.items():
            builder = builder.config(parameter, value)
        return builder.getOrCreate()

    def submit(self, compiled_code: str) -> None:
        namespace = {
            "__name__": f"dbt_python_model_{self.model_name}",
            "spark": self.spark_session(),
        }
        exec(compile(compiled_code, f"<dbt Python model {self.model_name}>", "exec"), namespace)


def install_session_submission() -> bool:
    """Add the ``session`` submission method to dbt-spark (the default for the session
    connection method). False, and nothing changed, when dbt-spark is not installed."""
    if importlib.util.find_spec("dbt.adapters.spark") is None:
        return False
    # Spark's Python workers run the models' functions: the interpreter that has this package
    # (a cluster sets its own PYSPARK_PYTHON, which is kept).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from dbt.adapters.spark.impl import SparkAdapter

    if getattr(SparkAdapter, "_governance_session_models", False):
        return True
    helpers = SparkAdapter.python_submission_helpers.fget
    default_method = SparkAdapter.default_python_submission_method.fget

    def python_submission_helpers(self):
        return {**helpers(self), SUBMISSION_METHOD: SessionPythonJobHelper}

    def default_python_submission_method(self):
        if str(getattr(self.config.credentials, "method", "")) == "session":
            return SUBMISSION_METHOD
        return default_method(self)

    SparkAdapter.python_submission_helpers = property(python_submission_helpers)
    SparkAdapter.default_python_submission_method = property(default_python_submission_method)
    SparkAdapter._governance_session_models = True
    return True
