"""Running dbt against the warehouse and reading what a build produced."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb

from governance import settings
from governance.contract import assert_raw_dir

NORTH_STAR_METRICS = (
    "listing_violation_rate",
    "low_quality_listing_rate",
    "bad_seller_onboarding_rate",
    "violation_prevalence",
    "complaint_rate",
    "appeal_overturn_rate",
)


class BuildError(RuntimeError):
    """dbt finished with errors; the message lists the failed nodes."""


def dbt_env(raw_dir: Path | None = None, duckdb_path: Path | None = None) -> dict[str, str]:
    """Environment for a dbt subprocess: absolute paths, anonymous usage stats off."""
    env = dict(os.environ)
    env[settings.RAW_DIR_ENV] = str(Path(raw_dir or settings.raw_dir()).resolve())
    env[settings.DUCKDB_PATH_ENV] = str(Path(duckdb_path or settings.duckdb_path()).resolve())
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    env.setdefault("DBT_PROFILES_DIR", str(settings.project_dir()))
    return env


def dbt_executable() -> str:
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else (shutil.which("dbt") or "dbt")


def run_dbt(
    args: list[str],
    raw_dir: Path | None = None,
    duckdb_path: Path | None = None,
    target_path: Path | None = None,
    quiet: bool = False,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Run a dbt command in the project directory and return the finished process; ``env``
    adds or replaces environment variables of the dbt process."""
    project = settings.project_dir()
    env = {**dbt_env(raw_dir, duckdb_path), **(env or {})}
    Path(env[settings.DUCKDB_PATH_ENV]).parent.mkdir(parents=True, exist_ok=True)
    command = [dbt_executable(), *args, "--project-dir", str(project)]
    command += ["--profiles-dir", env["DBT_PROFILES_DIR"]]
    if target_path is not None:
        command += ["--target-path", str(target_path)]
    return subprocess.run(
        command,
        cwd=project,
        env=env,
        text=True,
        capture_output=quiet,
        check=False,
    )


def build(
    raw_dir: Path | None = None,
    duckdb_path: Path | None = None,
    extra_args: list[str] | None = None,
    target_path: Path | None = None,
    quiet: bool = False,
) -> Path:
    """Check the raw folder against the contract, then `dbt build`. Returns run_results.json."""
    raw = Path(raw_dir or settings.raw_dir())
    assert_raw_dir(raw)
    process = run_dbt(
        ["build", *(extra_args or [])],
        raw_dir=raw,
        duckdb_path=duckdb_path,
        target_path=target_path,
        quiet=quiet,
    )
    results_path = Path(target_path or settings.project_dir() / "target") / "run_results.json"
    if process.returncode != 0:
        failures = failed_nodes(results_path) if results_path.exists() else []
        detail = "\n".join(f"  - {f}" for f in failures) or (process.stdout or "")[-4000:]
        raise BuildError(f"dbt build failed:\n{detail}")
    return results_path


@dataclass(frozen=True)
class RunStats:
    models: int
    tests_passed: int
    tests_warned: int
    tests_failed: int
    unit_tests: int
    seconds: float


def failed_nodes(run_results: Path) -> list[str]:
    results = json.loads(Path(run_results).read_text())["results"]
    return [
        f"{r['unique_id']}: {r['status']}: {(r.get('message') or '').strip()[:300]}"
        for r in results
        if r["status"] in ("error", "fail", "runtime error")
    ]


# dbt names the generic tests on a source `source_<test>_<source>_<table>...`.
SOURCE_TEST_PREFIX = "source_"


def source_tests_path(duckdb_path: Path | str) -> Path:
    """Where the raw-source test results of the last build that ran them are kept."""
    path = Path(duckdb_path)
    return path.with_name(f"{path.stem}.source_tests.json")


def source_test_results(run_results: Path) -> list[dict]:
    """The tests on raw sources in a dbt invocation's results: name, status, failures, message."""
    results = json.loads(Path(run_results).read_text())["results"]
    tests = [
        (r, r["unique_id"].split(".")[2]) for r in results if r["unique_id"].startswith("test.")
    ]
    return [
        {
            "name": name,
            "status": r["status"],
            "failures": r.get("failures"),
            "message": (r.get("message") or "").strip()[:300],
        }
        for r, name in tests
        if name.startswith(SOURCE_TEST_PREFIX)
    ]


def keep_source_test_results(run_results: Path, published: Path, night: str | None) -> None:
    """Store beside the published warehouse the raw-source test results of a build that ran
    them. Incremental nights leave those tests to full builds; the dashboard then shows these."""
    tests = source_test_results(run_results)
    if tests:
        stored = {"night": night, "tests": tests}
        source_tests_path(published).write_text(json.dumps(stored, indent=2) + "\n")


def run_stats(run_results: Path) -> RunStats:
    payload = json.loads(Path(run_results).read_text())
    results = payload["results"]

    def count(prefix: str, statuses: tuple[str, ...]) -> int:
        return sum(
            1 for r in results if r["unique_id"].startswith(prefix) and r["status"] in statuses
        )

    return RunStats(
        models=count("model.", ("success",)),
        tests_passed=count("test.", ("pass",)),
        tests_warned=count("test.", ("warn",)),
        tests_failed=count("test.", ("fail", "error")),
        unit_tests=count("unit_test.", ("pass",)),
        seconds=float(payload.get("elapsed_time", 0.0)),
    )


def latest_metric_values(duckdb_path: Path | None = None) -> list[dict]:
    """Latest mature `ALL`/`ALL` value of every north-star metric, with interval and target."""
    path = Path(duckdb_path or settings.duckdb_path())
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            """
            with latest as (
                select metric_name, max(metric_date) as metric_date
                from main.metrics_daily
                where region = 'ALL' and category = 'ALL' and is_mature and denominator > 0
                group by metric_name
            )
            select m.metric_name, d.metric_label, m.metric_date, m.value, m.ci_lower,
                   m.ci_upper, m.denominator, d.target_value
            from main.metrics_daily as m
            inner join latest as l
                on m.metric_name = l.metric_name and m.metric_date = l.metric_date
            inner join reference.metric_definitions as d on m.metric_name = d.metric_name
            where m.region = 'ALL' and m.category = 'ALL'
            order by m.metric_name
            """
        ).fetchall()
    columns = [
        "metric_name",
        "label",
        "metric_date",
        "value",
        "ci_lower",
        "ci_upper",
        "denominator",
        "target",
    ]
    return [dict(zip(columns, row, strict=True)) for row in rows]


def mart_row_counts(duckdb_path: Path | None = None) -> dict[str, int]:
    path = Path(duckdb_path or settings.duckdb_path())
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'main' order by table_name"
        ).fetchall()
        return {
            name: con.execute(f'select count(*) from main."{name}"').fetchone()[0]
            for (name,) in tables
        }
