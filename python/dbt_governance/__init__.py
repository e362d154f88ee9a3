"""dbt-core plugin of the governance warehouse: dbt imports every installed module named
``dbt_*`` and initialises its ``plugins``. This one lets dbt-spark's session method run the
project's dbt Python models (governance.spark_session)."""

from dbt.plugins.manager import dbtPlugin

from governance.spark_session import install_session_submission


class SparkSessionPythonModels(dbtPlugin):
    """Adds the ``session`` submission method for dbt Python models to dbt-spark."""

    def initialize(self) -> None:
        install_session_submission()


plugins = [SparkSessionPythonModels]
