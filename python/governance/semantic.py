"""The semantic layer: MetricFlow (`mf`) over the warehouse's semantic models and metrics.

`mf` reads the dbt project in its working directory, the profile from ``DBT_PROFILES_DIR`` and
the semantic manifest from ``<project>/target/semantic_manifest.json`` (a fixed path). To run it
against a build whose artefacts live in another target folder (a test warehouse, a scratch
check) it is started in a throw-away directory that links the project's files and points
``target`` at that folder, so the project's own ``target/`` is never touched.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from governance import settings
from governance.warehouse import dbt_env, run_dbt

# Project entries a MetricFlow run never needs (artefacts, data, environments).
_NOT_LINKED = {"target", "logs", ".git", ".venv", "data", "warehouse"}


class SemanticLayerError(RuntimeError):
    """`mf` failed; the message carries its output."""


def mf_executable() -> str:
    candidate = Path(sys.executable).parent / "mf"
    return str(candidate) if candidate.exists() else (shutil.which("mf") or "mf")


@contextmanager
def project_with_target(target_path: Path | None = None) -> Iterator[Path]:
    """A dbt project directory whose ``target`` is `target_path` (default: the project's own)."""
    project = settings.project_dir()
    own_target = (project / "target").resolve()
    target = Path(target_path).resolve() if target_path is not None else own_target
    if target == own_target:
        yield project
        return
    with tempfile.TemporaryDirectory(prefix="governance-mf-") as scratch:
        shadow = Path(scratch)
        for entry in project.iterdir():
            if entry.name not in _NOT_LINKED:
                (shadow / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
        (shadow / "target").symlink_to(target, target_is_directory=True)
        yield shadow


def run_mf(
    args: Sequence[str],
    target_path: Path | None = None,
    raw_dir: Path | None = None,
    duckdb_path: Path | None = None,
    quiet: bool = True,
    timeout: float = 600,
) -> subprocess.CompletedProcess:
    """Run an `mf` command against the warehouse and the semantic manifest in `target_path`."""
    env = dbt_env(raw_dir, duckdb_path)
    with project_with_target(target_path) as project:
        env["DBT_PROJECT_DIR"] = str(project)
        return subprocess.run(
            [mf_executable(), *args],
            cwd=project,
            env=env,
            text=True,
            capture_output=quiet,
            timeout=timeout,
            check=False,
        )


def query(
    metrics: Sequence[str],
    group_by: Sequence[str] = ("metric_time__day",),
    where: Sequence[str] = (),
    target_path: Path | None = None,
    duckdb_path: Path | None = None,
) -> pd.DataFrame:
    """`mf query` as a DataFrame: one column per group-by item and per metric."""
    with tempfile.TemporaryDirectory(prefix="governance-mf-query-") as scratch:
        csv = Path(scratch) / "result.csv"
        args = ["query", "--metrics", ",".join(metrics), "--csv", str(csv), "--quiet"]
        if group_by:
            args += ["--group-by", ",".join(group_by)]
        for condition in where:
            args += ["--where", condition]
        process = run_mf(args, target_path=target_path, duckdb_path=duckdb_path)
        if process.returncode != 0 or not csv.exists():
            output = (process.stdout or "") + (process.stderr or "")
            raise SemanticLayerError(
                f"mf query --metrics {','.join(metrics)} failed (exit {process.returncode}):\n"
                f"{output[-3000:]}"
            )
        return pd.read_csv(csv)


def validate(
    target_path: Path | None = None,
    duckdb_path: Path | None = None,
    raw_dir: Path | None = None,
    warehouse: bool = True,
) -> subprocess.CompletedProcess:
    """`mf validate-configs`: semantic checks, plus checks against the warehouse if `warehouse`."""
    args = ["validate-configs"] + ([] if warehouse else ["--skip-dw"])
    return run_mf(args, target_path=target_path, duckdb_path=duckdb_path, raw_dir=raw_dir)


def check_project(
    duckdb_path: Path | None = None, raw_dir: Path | None = None, warehouse: bool = False
) -> tuple[bool, str]:
    """Parse the project into a scratch target and validate its semantic layer.

    Without `warehouse` only the definitions are checked (no warehouse needed); with it the
    semantic models, dimensions, measures and metrics are also queried in the warehouse.
    Returns (passed, output).
    """
    with tempfile.TemporaryDirectory(prefix="governance-semantic-") as scratch:
        target = Path(scratch) / "target"
        db = Path(duckdb_path or settings.duckdb_path()) if warehouse else Path(scratch) / "x.db"
        parsed = run_dbt(["parse"], raw_dir=raw_dir, duckdb_path=db, target_path=target, quiet=True)
        if parsed.returncode != 0:
            return False, f"dbt parse failed:\n{(parsed.stdout or '')[-3000:]}"
        result = validate(target, duckdb_path=db, raw_dir=raw_dir, warehouse=warehouse)
        return result.returncode == 0, readable_output(result)


def readable_output(process: subprocess.CompletedProcess) -> str:
    """An `mf` run's output without its progress spinners and blank lines."""
    text = (process.stdout or "") + (process.stderr or "")
    lines = (line.rstrip() for line in text.splitlines())
    return "\n".join(line for line in lines if line and not "\u2800" <= line[0] <= "\u28ff")
