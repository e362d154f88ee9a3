"""Running dbt against the warehouse and reading what a build produced."""

from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import duckdb

from governance import settings
from governance.contract import assert_raw_dir


class BuildError(RuntimeError):
    """dbt finished with errors; the message lists the failed nodes."""


# DuckDB's name for a database held in memory (no file), as a dbt profile path.
IN_MEMORY_DATABASE = ":memory:"


def dbt_env(raw_dir: Path | None = None, duckdb_path: Path | str | None = None) -> dict[str, str]:
    """Environment for a dbt subprocess: absolute paths (or IN_MEMORY_DATABASE), anonymous
    usage stats off."""
    env = dict(os.environ)
    env[settings.RAW_DIR_ENV] = str(Path(raw_dir or settings.raw_dir()).resolve())
    database = duckdb_path or settings.duckdb_path()
    if database != IN_MEMORY_DATABASE:
        database = Path(database).resolve()
    env[settings.DUCKDB_PATH_ENV] = str(database)
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    env.setdefault("DBT_PROFILES_DIR", str(settings.project_dir()))
    return env


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with_parent(parent: int) -> Callable[[], None]:
    """For a child process (preexec_fn): on Linux, SIGTERM when its parent dies, so a dbt
    process never runs on unguarded after the build that started it was killed."""

    def arm() -> None:
        if sys.platform.startswith("linux"):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
            if os.getppid() != parent:  # the parent died before the signal was armed
                os._exit(1)

    return arm


def _guard() -> dict:
    """What guards a build step's process: it dies with this process and inherits the build
    locks this process holds (governance.publish.build_lock), so a new build refuses while it
    lives. Only the main thread starts build steps (``preexec_fn``)."""
    from governance.publish import held_lock_fds

    return {"pass_fds": held_lock_fds(), "preexec_fn": _die_with_parent(os.getpid())}


def run_guarded(command: list[str], **options) -> subprocess.CompletedProcess:
    """``subprocess.run`` of a build step, guarded (_guard)."""
    return subprocess.run(command, check=False, **_guard(), **options)  # noqa: PLW1509


def start_guarded(command: list[str], **options) -> subprocess.Popen:
    """``subprocess.Popen`` of a build step that runs beside the caller, guarded (_guard)."""
    return subprocess.Popen(command, **_guard(), **options)  # noqa: PLW1509


def dbt_executable() -> str:
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else (shutil.which("dbt") or "dbt")


def dbt_command(
    args: list[str],
    raw_dir: Path | None = None,
    duckdb_path: Path | str | None = None,
    target_path: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of a dbt command run in the project directory; ``env``
    adds or replaces environment variables of the dbt process."""
    env = {**dbt_env(raw_dir, duckdb_path), **(env or {})}
    command = [dbt_executable(), *args, "--project-dir", str(settings.project_dir())]
    command += ["--profiles-dir", env["DBT_PROFILES_DIR"]]
    if target_path is not None:
        command += ["--target-path", str(target_path)]
    return command, env


def run_dbt(
    args: list[str],
    raw_dir: Path | None = None,
    duckdb_path: Path | str | None = None,
    target_path: Path | None = None,
    quiet: bool = False,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Run a dbt command (dbt_command) and return the finished process."""
    command, env = dbt_command(args, raw_dir, duckdb_path, target_path, env)
    Path(env[settings.DUCKDB_PATH_ENV]).parent.mkdir(parents=True, exist_ok=True)
    return run_guarded(
        command, cwd=settings.project_dir(), env=env, text=True, capture_output=quiet
    )


# How long a stopped dbt process gets to end on SIGTERM before it is killed.
STOP_SECONDS = 10


@dataclass
class StartedDbt:
    """A dbt command running beside the process that started it (start_dbt). Its output goes
    to an unnamed temporary file (gone once closed, or with the process), so however long it
    is it never blocks dbt."""

    process: subprocess.Popen
    output: IO[str]

    def wait(self) -> subprocess.CompletedProcess:
        """Waits for dbt to finish: the finished process, its output (stderr too) as stdout."""
        self.process.wait()
        self.output.seek(0)
        return subprocess.CompletedProcess(
            self.process.args, self.process.returncode, self.output.read(), ""
        )

    def stop(self) -> None:
        """Ends dbt if it still runs (SIGTERM, then SIGKILL) and closes its output."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.output.close()


def start_dbt(
    args: list[str],
    raw_dir: Path | None = None,
    duckdb_path: Path | str | None = None,
    target_path: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> StartedDbt:
    """Starts a dbt command (dbt_command) and returns at once; call ``stop`` of what it returns
    when done with it (in a ``finally``: it ends a dbt that still runs)."""
    command, env = dbt_command(args, raw_dir, duckdb_path, target_path, env)
    # Closed by StartedDbt.stop.
    output = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115
    try:
        process = start_guarded(
            command, cwd=settings.project_dir(), env=env, stdout=output, stderr=subprocess.STDOUT
        )
    except BaseException:
        output.close()
        raise
    return StartedDbt(process, output)


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
    assert_metric_outputs_current()
    results_path = Path(target_path or settings.project_dir() / "target") / "run_results.json"
    results_path.unlink(missing_ok=True)
    process = run_dbt(
        ["build", *(extra_args or [])],
        raw_dir=raw,
        duckdb_path=duckdb_path,
        target_path=target_path,
        quiet=quiet,
    )
    if process.returncode != 0:
        failures = failed_nodes(results_path) if results_path.exists() else []
        detail = "\n".join(f"  - {f}" for f in failures) or dbt_error(process.stdout or "")
        raise BuildError(f"dbt build failed:\n{detail}")
    return results_path


def assert_metric_outputs_current() -> None:
    """BuildError when a file dbt reads that is generated from metric_registry.yml is stale (the
    registry was edited without `governance metrics generate`)."""
    from governance.metric_outputs import StaleOutputs, assert_current
    from governance.metric_registry import RegistryError

    try:
        assert_current(dbt_only=True)
    except (StaleOutputs, RegistryError) as exc:
        raise BuildError(str(exc)) from exc


ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
LOG_TIME = re.compile(r"^\d{2}:\d{2}:\d{2}\s+", re.MULTILINE)


def dbt_error(stdout: str, limit: int = 2000) -> str:
    """dbt's own error in the output of a failed command (colours and times removed): what
    follows "Encountered an error:", else the lines from the first that names an error, else
    the end of the output."""
    text = LOG_TIME.sub("", ANSI_ESCAPE.sub("", stdout or "")).strip()
    if "Encountered an error:" in text:
        return "  " + text.split("Encountered an error:", 1)[1].strip()[:limit]
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if "Error" in line), None)
    if first is not None:
        return "  " + "\n".join(lines[first:]).strip()[:limit]
    return "  " + (text[-limit:] if text else "dbt printed nothing (see the dbt log)")


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
                from metrics.metrics_daily
                where region = 'ALL' and category = 'ALL' and is_mature and denominator > 0
                group by metric_name
            )
            select m.metric_name, d.metric_label, m.metric_date, m.value, m.ci_lower,
                   m.ci_upper, m.denominator, d.target_value
            from metrics.metrics_daily as m
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
    """Rows of every table of the published schemas but the reference lists, as
    ``schema.table``."""
    from governance.publish import published_schemas

    path = Path(duckdb_path or settings.duckdb_path())
    schemas = [s for s in published_schemas() if s != "reference"]
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where schema_name in (select unnest(?)) order by all",
            [schemas],
        ).fetchall()
        return {
            f"{schema}.{name}": con.execute(f'select count(*) from "{schema}"."{name}"').fetchone()[
                0
            ]
            for schema, name in tables
        }
