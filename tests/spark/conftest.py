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
import tempfile
from pathlib import Path

import pytest

from governance import settings
from governance.simulator import generate
from governance.warehouse import StartedDbt, dbt_executable

pytest.importorskip("pyspark", reason="Spark tests need the 'spark' extra (pip install)")
pytest.importorskip("dbt.adapters.spark", reason="Spark tests need dbt-spark (the 'spark' extra)")

PII_SALT = "spark-parity-test-salt"


def project_dir() -> Path:
    return Path(os.environ.get("GOVERNANCE_PROJECT_DIR", settings.project_dir())).resolve()


def _dbt_start(
    root: Path, target: str, raw: Path, args: tuple[str, ...] = ("build",), label: str = ""
) -> tuple[StartedDbt, Path]:
    """Starts dbt `args` on `target` beside the caller: the running dbt, its output (stderr too)
    in a temporary file so that two of them side by side never wait on a full pipe, and its
    run_results.json."""
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
    # Tiny builds are many small queries, each mostly waiting on one thread: two at once, as
    # `make pytest` does for DuckDB.
    env.setdefault("GOVERNANCE_SPARK_THREADS", "2")
    env.setdefault("GOVERNANCE_DBT_THREADS", "2")
    command = [dbt_executable(), *args, "--target", target, "--project-dir", str(project)]
    command += ["--profiles-dir", str(project), "--target-path", str(target_path)]
    command += ["--log-path", str(root / f"logs_{target}{label}")]
    output = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115
    process = subprocess.Popen(
        command, cwd=project, env=env, stdout=output, stderr=subprocess.STDOUT
    )
    return StartedDbt(process, output), target_path / "run_results.json"


def _finished(started: StartedDbt) -> subprocess.CompletedProcess:
    """The started dbt once it has ended (StartedDbt.wait), its output file closed."""
    try:
        return started.wait()
    finally:
        started.stop()


def _dbt_build(
    root: Path, target: str, raw: Path, args: tuple[str, ...] = ("build",), label: str = ""
) -> tuple[subprocess.CompletedProcess, Path]:
    started, results = _dbt_start(root, target, raw, args, label)
    return _finished(started), results


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
    # The two builds share nothing but the raw files: they run side by side.
    spark_started, spark_results = _dbt_start(root, "spark", raw)
    duck_started, duck_results = _dbt_start(root, "dev", raw)
    duck, spark = _finished(duck_started), _finished(spark_started)
    assert duck.returncode == 0, duck.stdout[-4000:]
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
