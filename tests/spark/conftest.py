"""The tiny tier built twice, on DuckDB (target dev) and on Spark (target spark), from the same
raw files with the same PII salt, dbt Python models included (they run in dbt's Spark session,
governance.spark_session). Slow: `make test-spark`, the last step of `make test`.

GOVERNANCE_PROJECT_DIR points the builds at another checkout of the dbt project (default: this
one)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from governance import settings
from governance.simulator import generate
from governance.warehouse import dbt_executable

pytest.importorskip("pyspark", reason="Spark tests need the 'spark' extra (pip install)")
pytest.importorskip("dbt.adapters.spark", reason="Spark tests need dbt-spark (the 'spark' extra)")

PII_SALT = "spark-parity-test-salt"


def project_dir() -> Path:
    return Path(os.environ.get("GOVERNANCE_PROJECT_DIR", settings.project_dir())).resolve()


def _dbt_build(
    root: Path, target: str, raw: Path, args: tuple[str, ...] = ("build",), label: str = ""
) -> tuple[subprocess.CompletedProcess, Path]:
    project = project_dir()
    target_path = root / f"target_{target}{label}"
    env = dict(os.environ)
    env.update(
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        GOVERNANCE_RAW_DIR=str(raw),
        GOVERNANCE_DUCKDB_PATH=str(root / "governance.duckdb"),
        GOVERNANCE_SPARK_DIR=str(root / "spark"),
        GOVERNANCE_PII_SALT=PII_SALT,
    )
    command = [dbt_executable(), *args, "--target", target, "--project-dir", str(project)]
    command += ["--profiles-dir", str(project), "--target-path", str(target_path)]
    command += ["--log-path", str(root / f"logs_{target}{label}")]
    process = subprocess.run(
        command, cwd=project, env=env, text=True, capture_output=True, check=False
    )
    return process, target_path / "run_results.json"


@pytest.fixture(scope="session")
def dbt_project_dir() -> Path:
    """The dbt project the Spark tests build."""
    return project_dir()


@pytest.fixture(scope="session")
def engines(tmp_path_factory) -> dict:
    """Both builds of the tiny tier (seed 7): raw dir, DuckDB file, Spark warehouse folder,
    the dbt processes and their run_results.json."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Spark needs a Java runtime (17)")
    root = tmp_path_factory.mktemp("engines")
    raw = root / "raw"
    generate(raw_dir=raw, truth_dir=root / "truth", scale="tiny", seed=7)
    duck, duck_results = _dbt_build(root, "dev", raw)
    assert duck.returncode == 0, duck.stdout[-4000:]
    spark, spark_results = _dbt_build(root, "spark", raw)
    return {
        "root": root,
        "raw": raw,
        "duckdb": root / "governance.duckdb",
        "spark_warehouse": root / "spark" / "warehouse",
        "duckdb_process": duck,
        "spark_process": spark,
        "duckdb_results": duck_results,
        "spark_results": spark_results,
    }


@pytest.fixture(scope="session")
def spark_anomalies_rerun(engines) -> dict:
    """A second night's ``dbt run --select metric_anomalies`` on the Spark warehouse the
    ``engines`` build made (same raw data): the model resumes from the table it built."""
    assert engines["spark_process"].returncode == 0
    args = ("run", "--select", "metric_anomalies")
    process, results = _dbt_build(engines["root"], "spark", engines["raw"], args, "_rerun")
    return {"process": process, "results": results}


@pytest.fixture(scope="session")
def spark():
    """A local Spark session for the distributed functions on hand-made inputs."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("governance-tests")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
