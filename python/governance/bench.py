"""Benchmark harness: how long the warehouse takes to build at a scale tier, against what.

For one scale tier it measures, each step in its own subprocess so that wall time and peak
memory belong to that step alone:

* ``generate``: the simulator writing the raw Parquet folders;
* ``floor``: one DuckDB pass that reads every raw table once (row count, first and last event,
  sum of a numeric column). No build can be faster than reading its input once;
* ``full_build``: ``dbt build`` on an empty warehouse, as analysts run it (models, seeds, data
  tests and unit tests), after a ``dbt parse`` so that parsing the project is not counted;
* ``incremental``: the nightly run on the built warehouse: ``governance nightly`` when the
  project has it, otherwise a ``dbt build`` re-run, labelled as such in the result. The last
  simulated night is held back from everything before it (``hold_back_last_night``) and
  delivered just before this step, so the night loads one real day of new records;
* ``pandas``: governance.baseline.north_star_baseline, the notebook way of computing three
  north-star metrics from the same Parquet files.

Peak memory is the resident set size (RSS) of the step's process tree: the larger of the
biggest single process's peak (``wait4`` resource usage, exact) and the sum over the tree
sampled every ``SAMPLE_SECONDS`` (catches concurrent children). A step that grows past
``max_rss_mb`` is stopped and reported as such instead of taking the machine down.

Results go to ``bench/results/<tier>.json`` and are printed as a table with the ratios
full build / floor, incremental / full build and pandas / full build. It is a benchmark, not a
test: the figures depend on the machine and on what else it runs (the load average at the start
is recorded with the machine description).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from governance import settings

SAMPLE_SECONDS = 0.2
RESULT_KEYS = (
    "tier",
    "machine",
    "rows",
    "generate_s",
    "full_build_s",
    "full_build_peak_rss_mb",
    "incremental_s",
    "floor_s",
    "pandas_s",
    "pandas_peak_rss_mb",
)

# Targets on the reference machine (2 cores, 24 GB): (ratio or figure, limit, tiers it applies to).
TARGETS = (
    ("full_build_over_floor", "<=", 3.0, ("large",)),
    ("full_build_peak_rss_mb", "<=", 8192.0, ("large",)),
    ("incremental_over_full_build", "<=", 0.05, ("large",)),
    ("pandas_over_full_build", ">=", 10.0, ("medium",)),
)

# Columns the floor pass aggregates per raw table: (event timestamp, numeric column or None).
# A table without a numeric column sums the length of its identifier instead.
FLOOR_COLUMNS = {
    "sellers": ("registered_at", None, "seller_id"),
    "seller_identity_signals": ("observed_at", None, "seller_id"),
    "listings": ("created_at", "price_usd", "listing_id"),
    "strategies": ("launched_at", None, "strategy_id"),
    "strategy_changes": ("changed_at", None, "change_id"),
    "strategy_hits": ("hit_at", "risk_score", "hit_id"),
    "enforcement_actions": ("acted_at", None, "action_id"),
    "appeals": ("filed_at", None, "appeal_id"),
    "qa_case_checks": ("checked_at", None, "check_id"),
    "orders": ("ordered_at", "gmv_usd", "order_id"),
    "complaints": ("created_at", None, "complaint_id"),
}


class BenchError(RuntimeError):
    """A benchmark step failed; the message names the step and where its log is."""


def generated_rows(result: dict) -> dict[str, int]:
    """Rows per raw table the generation wrote: those the full build read (``rows``) and those
    of the night held back for the nightly step (``incremental_night_rows``; results written
    before the night was held back delivered extra copies there instead, not generated rows)."""
    rows = dict(result.get("rows") or {})
    if result.get("incremental_night_held_back"):
        for table, count in (result.get("incremental_night_rows") or {}).items():
            rows[table] = rows.get(table, 0) + count
    return rows


def generation_of_reused_data(previous: dict | None, seed: int, rows: dict) -> dict:
    """Generation figures for a run that reuses the raw data: those of the previous result
    of the tier when it generated (or itself carried over) the same data, i.e. the same seed and
    the same generated row counts (``generated_rows``), with ``generate_measured_at``, the start
    of the run that measured them. Empty when there is no such result."""
    if not previous or previous.get("generate_s") is None:
        return {}
    if previous.get("seed") != seed or generated_rows(previous) != rows:
        return {}
    return {
        "generate_s": previous["generate_s"],
        "generate_peak_rss_mb": previous.get("generate_peak_rss_mb"),
        "generate_measured_at": previous.get("generate_measured_at") or previous.get("started_at"),
    }


# --------------------------------------------------------------------------- measuring


@dataclass
class Measurement:
    """Wall time and peak RSS of one step run as a subprocess."""

    seconds: float
    peak_rss_mb: float
    returncode: int
    stopped_reason: str | None = None
    log_path: Path | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.stopped_reason is None


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read().decode(errors="replace")
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces: split after it.
        fields = stat[stat.rfind(")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def tree_rss_bytes(root_pid: int) -> int:
    """Sum of the resident set sizes of a process and all its descendants (Linux /proc)."""
    if not os.path.isdir("/proc"):
        return 0
    page = os.sysconf("SC_PAGE_SIZE")
    children = _children_map()
    total, stack, seen = 0, [root_pid], set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/statm", "rb") as handle:
                total += int(handle.read().split()[1]) * page
        except (OSError, IndexError, ValueError):
            pass
        stack.extend(children.get(pid, ()))
    return total


def measure(
    command: Sequence[str],
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    log_path: Path | None = None,
    timeout_s: float | None = None,
    max_rss_mb: float | None = None,
) -> Measurement:
    """Run `command`, wait for it, and return its wall time and peak RSS of the process tree.

    Output goes to `log_path` (or is discarded). The step is stopped (SIGKILL to its process
    group) when it runs past `timeout_s` or its tree grows past `max_rss_mb`."""
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
    try:
        start = time.perf_counter()
        process = subprocess.Popen(
            list(command),
            env=env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        state = {"peak": 0, "stopped": None}
        done = threading.Event()

        def sample() -> None:
            while not done.wait(SAMPLE_SECONDS):
                rss = tree_rss_bytes(process.pid)
                state["peak"] = max(state["peak"], rss)
                reason = None
                if max_rss_mb is not None and rss > max_rss_mb * 2**20:
                    reason = f"stopped: RSS of the process tree passed {max_rss_mb:,.0f} MB"
                elif timeout_s is not None and time.perf_counter() - start > timeout_s:
                    reason = f"stopped: ran past the {timeout_s:,.0f} s time limit"
                if reason:
                    state["stopped"] = reason
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(process.pid, signal.SIGKILL)
                    return

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        done.set()
        sampler.join()
        process.returncode = os.waitstatus_to_exitcode(status)
        # ru_maxrss is in kilobytes on Linux (bytes on macOS).
        scale = 1 if sys.platform == "darwin" else 1024
        peak = max(usage.ru_maxrss * scale, state["peak"])
        return Measurement(
            seconds=seconds,
            peak_rss_mb=peak / 2**20,
            returncode=process.returncode,
            stopped_reason=state["stopped"],
            log_path=log_path,
        )
    finally:
        if log_path:
            log.close()


# --------------------------------------------------------------------------- the steps


def floor_pass(raw_dir: Path) -> dict[str, int]:
    """Read every raw table once with DuckDB (count, first/last event, a sum); rows per table."""
    import duckdb

    rows: dict[str, int] = {}
    con = duckdb.connect()
    try:
        for table, (event_column, numeric, key) in FLOOR_COLUMNS.items():
            pattern = str(Path(raw_dir) / table / "*.parquet").replace("'", "''")
            measure_sql = f"sum({numeric})" if numeric else f"sum(length({key}))"
            count, _, _, _ = con.execute(
                f"select count(*), min({event_column}), max({event_column}), {measure_sql} "
                f"from read_parquet('{pattern}', union_by_name = true)"
            ).fetchone()
            rows[table] = int(count)
    finally:
        con.close()
    return rows


RAW_LOAD_FILE = "raw_load.duckdb"  # beside raw/: the raw-load step's warehouse, removed after


def raw_load_pass(raw_dir: Path) -> dict[str, int]:
    """Copy every raw table, every column, unchanged into a new DuckDB file (one `create table
    as select *` each, DuckDB's memory limit as the build's), then remove it; rows per table.

    A reference for the full build, which writes typed, checked and deduplicated tables of the
    same data: the floor reads a few columns, this reads and writes them all."""
    import duckdb

    db = Path(raw_dir).parent / RAW_LOAD_FILE
    for path in (db, db.with_name(db.name + ".wal")):
        path.unlink(missing_ok=True)
    rows: dict[str, int] = {}
    memory_limit = os.environ.get("GOVERNANCE_DUCKDB_MEMORY_LIMIT", "6GB")
    con = duckdb.connect(str(db), config={"memory_limit": memory_limit})
    try:
        con.execute("set preserve_insertion_order = false")
        for table in FLOOR_COLUMNS:
            pattern = str(Path(raw_dir) / table / "*.parquet").replace("'", "''")
            con.execute(
                f"create table {table} as "
                f"select * from read_parquet('{pattern}', union_by_name = true)"
            )
            rows[table] = con.execute(f"select count(*) from {table}").fetchone()[0]
        con.execute("checkpoint")
    finally:
        con.close()
        for path in (db, db.with_name(db.name + ".wal")):
            path.unlink(missing_ok=True)
    return rows


HELD_NIGHT_DIR = "held_night"  # beside raw/: the held-back night's rows, one file per table
HELD_NIGHT_FILE = "night.json"
LEGACY_NIGHT_SUFFIX = "-bench-night.parquet"  # night files of earlier versions of the harness


def _last_simulated_day(truth_dir: Path) -> date:
    """The last simulated day (the simulator's manifest), else yesterday."""
    manifest = Path(truth_dir) / "manifest.json"
    if manifest.is_file():
        end = json.loads(manifest.read_text()).get("end_date")
        if end:
            return date.fromisoformat(end)
    return date.today() - timedelta(days=1)


def hold_back_last_night(raw_dir: Path, held_dir: Path, night: date) -> dict[str, int]:
    """Take the last simulated night out of a generation, for the nightly step.

    Per raw table, the rows whose event (``FLOOR_COLUMNS``) falls on ``night`` or later move to
    ``<held_dir>/<table>.parquet``; every other row stays, each generated file becoming
    ``initial-load-<night - 1>-<file>.parquet``, written as the simulator writes (so reading it
    costs what reading the generation costs), the way a first export would deliver them. The
    full build then builds up to the night before, and the nightly step delivers the night
    (``deliver_held_night``): new sellers, listings, orders and events of one day, not copies of
    loaded rows. Idempotent: a folder already split is left as it is (its figures are read back
    from ``<held_dir>/night.json``). Rows held back per table."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from governance.simulator.feed import INITIAL_LOAD_PREFIX
    from governance.simulator.writer import RAW_SCHEMAS, write

    raw_dir, held_dir = Path(raw_dir), Path(held_dir)
    for legacy in raw_dir.glob(f"*/*{LEGACY_NIGHT_SUFFIX}"):
        legacy.unlink()
    remove_held_night(raw_dir, held_dir)
    generated = {
        table: sorted(
            p
            for p in (raw_dir / table).glob("*.parquet")
            if not p.name.startswith(INITIAL_LOAD_PREFIX)
        )
        for table in FLOOR_COLUMNS
    }
    saved = _held_night(held_dir)
    if saved and saved["night"] == night.isoformat() and not any(generated.values()):
        return saved["rows"]
    held_dir.mkdir(parents=True, exist_ok=True)
    (held_dir / HELD_NIGHT_FILE).unlink(missing_ok=True)
    prefix = f"{INITIAL_LOAD_PREFIX}{(night - timedelta(days=1)).isoformat()}-"
    rows: dict[str, int] = {}
    for table, (event_column, _, _) in FLOOR_COLUMNS.items():
        if not generated[table]:
            raise BenchError(
                f"raw table '{table}': no generated files in {raw_dir / table} to hold the "
                f"night of {night} back from (generate the tier again)"
            )
        schema = RAW_SCHEMAS[table]
        held_parts = []
        for path in generated[table]:
            part = pq.read_table(path, schema=schema)
            on_night = pc.greater_equal(
                pc.cast(part.column(event_column), pa.date32()), pa.scalar(night, pa.date32())
            ).fill_null(False)
            held_parts.append(part.filter(on_night))
            staying = raw_dir / table / f"{prefix}{path.name}.tmp"
            write(part.filter(pc.invert(on_night)), staying)
            path.unlink()
            staying.rename(staying.with_suffix(""))
        held = pa.concat_tables(held_parts)
        write(held, held_dir / f"{table}.parquet")
        rows[table] = held.num_rows
    (held_dir / HELD_NIGHT_FILE).write_text(
        json.dumps({"night": night.isoformat(), "rows": rows}, indent=2) + "\n"
    )
    return rows


def _held_night(held_dir: Path) -> dict | None:
    """The held-back night and its rows per table (``night.json``), or None when none is held."""
    marker = Path(held_dir) / HELD_NIGHT_FILE
    return json.loads(marker.read_text()) if marker.is_file() else None


def deliver_held_night(raw_dir: Path, held_dir: Path) -> tuple[str, dict[str, int]]:
    """Deliver the held-back night: ``<table>/<night>.parquet`` in every raw table that has rows
    on it. The night and its rows per table."""
    saved = _held_night(held_dir)
    for table, count in saved["rows"].items():
        if count:
            shutil.copyfile(
                Path(held_dir) / f"{table}.parquet",
                Path(raw_dir) / table / f"{saved['night']}.parquet",
            )
    return saved["night"], saved["rows"]


def remove_held_night(raw_dir: Path, held_dir: Path) -> int:
    """Take back the night an earlier run delivered; how many files there were."""
    saved = _held_night(held_dir)
    if saved is None:
        return 0
    files = sorted(Path(raw_dir).glob(f"*/{saved['night']}.parquet"))
    for path in files:
        path.unlink()
    return len(files)


def pandas_pass(raw_dir: Path) -> dict[str, int]:
    """The pandas baseline: three north-star metrics from the raw files, rows per metric."""
    from governance.baseline import north_star_baseline

    frame = north_star_baseline(Path(raw_dir))
    return {str(k): int(v) for k, v in frame.groupby("metric_name").size().items()}


CHILD_STEPS: dict[str, Callable[[Path], dict[str, int]]] = {
    "floor": floor_pass,
    "raw_load": raw_load_pass,
    "pandas": pandas_pass,
}
CHILD_RESULT_PREFIX = "BENCH-RESULT "


def _child_main(argv: Sequence[str]) -> int:
    step, raw_dir = argv
    result = CHILD_STEPS[step](Path(raw_dir))
    print(CHILD_RESULT_PREFIX + json.dumps(result), flush=True)
    return 0


def _child_result(log_path: Path) -> dict | None:
    for line in reversed(log_path.read_text(errors="replace").splitlines()):
        if line.startswith(CHILD_RESULT_PREFIX):
            return json.loads(line[len(CHILD_RESULT_PREFIX) :])
    return None


def nightly_available() -> bool:
    """Whether the project has a `governance nightly` command (incremental builds)."""
    return importlib.util.find_spec("governance.commands.nightly") is not None


# --------------------------------------------------------------------------- machine


def machine_info() -> dict:
    """Cores, memory, CPU model and the load at the start: what the figures depend on."""
    memory_gb = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = round(int(line.split()[1]) / 2**20, 1)
    cpu_model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg() if hasattr(os, "getloadavg") else (None, None, None)
    versions = {}
    for package in ("duckdb", "dbt-core", "dbt-duckdb", "pandas", "pyarrow"):
        with contextlib.suppress(Exception):
            from importlib.metadata import version

            versions[package] = version(package)
    return {
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "cpu_model": cpu_model,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) if x is not None else None for x in load],
        "versions": versions,
    }


# --------------------------------------------------------------------------- the run


def ratios(result: dict) -> dict[str, float | None]:
    """The headline ratios, computed from the measured figures of `result`."""

    def ratio(numerator: str, denominator: str) -> float | None:
        a, b = result.get(numerator), result.get(denominator)
        if a is None or b is None or b <= 0:
            return None
        return round(a / b, 4)

    return {
        "full_build_over_floor": ratio("full_build_s", "floor_s"),
        "full_build_over_raw_load": ratio("full_build_s", "raw_load_s"),
        "incremental_over_full_build": ratio("incremental_s", "full_build_s"),
        "pandas_over_full_build": ratio("pandas_s", "full_build_s"),
    }


def target_checks(result: dict) -> list[dict]:
    """The scale targets that apply to this tier, with the measured figure and met or not."""
    figures = {**result, **result.get("ratios", {})}
    checks = []
    for name, op, limit, tiers in TARGETS:
        if result.get("tier") not in tiers:
            continue
        value = figures.get(name)
        met = None if value is None else (value <= limit if op == "<=" else value >= limit)
        checks.append({"figure": name, "target": f"{op} {limit:g}", "measured": value, "met": met})
    return checks


def node_timings(run_results: Path, top: int = 10) -> dict:
    """Time per node kind and the slowest nodes of a dbt run_results.json."""
    payload = json.loads(Path(run_results).read_text())
    by_kind: dict[str, float] = {}
    nodes = []
    for r in payload["results"]:
        kind = r["unique_id"].split(".")[0]
        seconds = float(r.get("execution_time") or 0.0)
        by_kind[kind] = round(by_kind.get(kind, 0.0) + seconds, 3)
        nodes.append((seconds, r["unique_id"], r["status"]))
    nodes.sort(reverse=True)
    return {
        "dbt_elapsed_s": round(float(payload.get("elapsed_time", 0.0)), 3),
        "seconds_by_node_kind": by_kind,
        "slowest_nodes": [
            {"node": uid, "seconds": round(s, 3), "status": status}
            for s, uid, status in nodes[:top]
        ],
    }


def incremental_breakdown(db: Path, target: Path) -> dict:
    """Where the nightly run's time went: the nightly report's time by step
    (``incremental_step_seconds``, from ``<db>.nightly.json``) and its dbt nodes
    (``incremental_nodes``, as ``full_build_nodes``). Only what the run left behind."""
    out: dict = {}
    from governance.nightly import read_report

    report = read_report(db)
    if report is not None:
        out["incremental_step_seconds"] = report.get("step_seconds")
    if (target / "run_results.json").exists():
        out["incremental_nodes"] = node_timings(target / "run_results.json")
    return out


@dataclass
class BenchConfig:
    tier: str
    work_dir: Path
    results_dir: Path
    seed: int = 42
    reuse_data: bool = False
    skip: tuple[str, ...] = ()
    timeout_s: float = 4 * 3600
    max_rss_mb: float = 16 * 1024
    dbt_target: str | None = None
    project_dir: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)


def _dbt_command(args: list[str], config: BenchConfig, target_path: Path) -> list[str]:
    from governance.warehouse import dbt_executable

    project = config.project_dir or settings.project_dir()
    command = [dbt_executable(), *args, "--project-dir", str(project)]
    command += ["--profiles-dir", str(project)]
    command += ["--target-path", str(target_path), "--log-path", str(config.work_dir / "logs")]
    if config.dbt_target:
        command += ["--target", config.dbt_target]
    return command


def _step(name: str, measurement: Measurement) -> Measurement:
    if not measurement.ok:
        reason = measurement.stopped_reason or f"exit code {measurement.returncode}"
        raise BenchError(f"benchmark step '{name}' failed ({reason}); see {measurement.log_path}")
    return measurement


def _build_outcome(name: str, m: Measurement, target_path: Path) -> list[str]:
    """Failed data tests of a finished dbt build; raises if the build itself did not finish.

    A failing data test is a finding about the data, not about speed: the build is still
    timed and the failures are recorded with the figures."""
    results = target_path / "run_results.json"
    if m.stopped_reason or not results.exists():
        _step(name, m)
    payload = json.loads(results.read_text())["results"]
    broken = [r["unique_id"] for r in payload if r["status"] in ("error", "runtime error")]
    if m.returncode != 0 and (broken or not payload):
        detail = ", ".join(broken[:5])
        raise BenchError(f"benchmark step '{name}' failed ({detail}); see {m.log_path}")
    return sorted(r["unique_id"] for r in payload if r["status"] == "fail")


def run_benchmark(config: BenchConfig, echo: Callable[[str], None] = print) -> dict:
    """Run every step for one tier, write `<results_dir>/<tier>.json`, return the result."""
    from governance.warehouse import dbt_env

    work = config.work_dir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    (work / "logs").mkdir(exist_ok=True)
    raw, truth, db = work / "raw", work / "truth", work / "governance.duckdb"
    env = {**dbt_env(raw, db), **config.extra_env}
    env["PYTHONUNBUFFERED"] = "1"
    python = sys.executable
    project = (config.project_dir or settings.project_dir()).resolve()
    limits = {"timeout_s": config.timeout_s, "max_rss_mb": config.max_rss_mb}
    result: dict = {
        "tier": config.tier,
        "seed": config.seed,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "dbt_target": config.dbt_target or os.environ.get(settings.TARGET_ENV, "dev"),
        "generate_reused": False,
    }

    partial = config.results_dir / f"{config.tier}.partial.json"
    previous_path = config.results_dir / f"{config.tier}.json"
    previous = json.loads(previous_path.read_text()) if previous_path.exists() else None

    def measure_child(step: str) -> Measurement:
        # A step of this module run in its own process (CHILD_STEPS), logged to logs/<step>.log.
        return measure(
            [python, "-m", "governance.bench", "--child", step, str(raw)],
            env=env,
            log_path=work / "logs" / f"{step}.log",
            **limits,
        )

    def checkpoint() -> None:
        # Figures so far, so that a run stopped part-way still leaves what it measured.
        config.results_dir.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps(result, indent=2) + "\n")

    # 1. data generation
    if config.reuse_data and (raw / "orders").is_dir():
        echo(f"[bench] reusing raw data in {raw}")
        result.update(generate_s=None, generate_peak_rss_mb=None, generate_reused=True)
    else:
        echo(f"[bench] generating the '{config.tier}' tier into {raw} ...")
        m = _step(
            "generate",
            measure(
                [python, "-m", "governance.cli", "generate", "--scale", config.tier]
                + ["--seed", str(config.seed), "--raw-dir", str(raw), "--truth-dir", str(truth)],
                env=env,
                log_path=work / "logs" / "generate.log",
                **limits,
            ),
        )
        result.update(generate_s=round(m.seconds, 3), generate_peak_rss_mb=round(m.peak_rss_mb))

    # The last simulated night is held back from the full build and delivered before the
    # nightly step (not timed).
    night = _last_simulated_day(truth)
    echo(f"[bench] holding the night of {night} back for the nightly step (not timed) ...")
    held_rows = hold_back_last_night(raw, work / HELD_NIGHT_DIR, night)
    result.update(
        incremental_night=night.isoformat(),
        incremental_night_rows=held_rows,
        incremental_night_held_back=True,
    )

    checkpoint()

    # 2. the floor: read every raw table once
    echo("[bench] floor: one DuckDB pass over every raw table ...")
    m = _step("floor", measure_child("floor"))
    result["rows"] = _child_result(work / "logs" / "floor.log")
    result.update(floor_s=round(m.seconds, 3), floor_peak_rss_mb=round(m.peak_rss_mb))
    if result["generate_reused"]:
        result.update(generation_of_reused_data(previous, config.seed, generated_rows(result)))

    checkpoint()

    # 2b. a reference: every raw table copied unchanged into DuckDB
    echo("[bench] raw load: every raw table copied unchanged into a DuckDB file ...")
    m = _step("raw load", measure_child("raw_load"))
    result.update(raw_load_s=round(m.seconds, 3), raw_load_peak_rss_mb=round(m.peak_rss_mb))

    checkpoint()

    # 3. full dbt build on an empty warehouse (parsing the project measured apart)
    for path in (db, db.with_suffix(".duckdb.wal")):
        path.unlink(missing_ok=True)
    target_full = work / "target_full"
    echo("[bench] dbt parse ...")
    m = _step(
        "dbt parse",
        measure(
            _dbt_command(["parse"], config, target_full),
            env=env,
            cwd=project,
            log_path=work / "logs" / "parse.log",
            **limits,
        ),
    )
    result["parse_s"] = round(m.seconds, 3)
    echo("[bench] full dbt build ...")
    m = measure(
        _dbt_command(["build"], config, target_full),
        env=env,
        cwd=project,
        log_path=work / "logs" / "full_build.log",
        **limits,
    )
    result["full_build_failed_tests"] = _build_outcome("full dbt build", m, target_full)
    result.update(
        full_build_s=round(m.seconds, 3),
        full_build_peak_rss_mb=round(m.peak_rss_mb),
        full_build_nodes=node_timings(target_full / "run_results.json"),
        warehouse_mb=round(db.stat().st_size / 2**20) if db.exists() else None,
    )

    checkpoint()

    # 4. the nightly incremental run on the built warehouse
    if "incremental" in config.skip:
        result.update(incremental_s=None, incremental_kind="skipped")
    else:
        target_incr = work / "target_incremental"
        shutil.copytree(target_full, target_incr, dirs_exist_ok=True)  # keeps the partial parse
        (target_incr / "run_results.json").unlink(missing_ok=True)
        if nightly_available():
            echo(f"[bench] delivering the night of {night} (not timed) ...")
            deliver_held_night(raw, work / HELD_NIGHT_DIR)
            # What a night finds from the night before: dbt's parse of the project with the
            # previous night's dates, so the night re-parses only what reads its dates.
            from governance.nightly import parse_as_after_night

            parsed = parse_as_after_night(raw, db, night - timedelta(days=1), target_incr, env)
            if parsed.returncode != 0:
                raise BenchError(f"dbt parse before the night failed: {parsed.stdout[-2000:]}")
            kind = (
                "governance nightly (incremental dbt build, validation, atomic publish) on the "
                f"built warehouse after one new night of raw files: {night}.parquet in every "
                "table, the rows of the last simulated day, held back from the full build"
            )
            command = [python, "-m", "governance.cli", "nightly", "--raw-dir", str(raw)]
            command += ["--duckdb-path", str(db), "--target-path", str(target_incr)]
            command += ["--date", night.isoformat()]
        else:
            kind = (
                "dbt build re-run on the built warehouse, same data "
                "(no incremental models or nightly command in the project yet)"
            )
            command = _dbt_command(["build"], config, target_incr)
        echo(f"[bench] incremental: {kind} ...")
        m = measure(
            command,
            env=env,
            cwd=project,
            log_path=work / "logs" / "incremental.log",
            **limits,
        )
        result["incremental_failed_tests"] = (
            [] if m.ok else _build_outcome("incremental", m, target_incr)
        )
        result.update(
            incremental_s=round(m.seconds, 3),
            incremental_peak_rss_mb=round(m.peak_rss_mb),
            incremental_kind=kind,
            incremental_command=" ".join(
                Path(command[0]).name if i == 0 else c for i, c in enumerate(command)
            ),
        )
        result.update(incremental_breakdown(db, target_incr))

    checkpoint()

    # 5. the pandas baseline, on the files the full build read
    remove_held_night(raw, work / HELD_NIGHT_DIR)
    if "pandas" in config.skip:
        result.update(pandas_s=None, pandas_peak_rss_mb=None, pandas_status="skipped")
    else:
        echo("[bench] pandas baseline ...")
        m = measure_child("pandas")
        if m.ok:
            result.update(pandas_s=round(m.seconds, 3), pandas_status="ok")
        else:
            # A baseline that cannot finish on this machine is a result, not a harness error.
            reason = m.stopped_reason or f"failed with exit code {m.returncode}"
            result.update(pandas_s=None, pandas_status=f"{reason} after {m.seconds:,.0f} s")
        result["pandas_peak_rss_mb"] = round(m.peak_rss_mb)

    result["ratios"] = ratios(result)
    result["targets"] = target_checks(result)
    result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    write_result(result, config.results_dir)
    partial.unlink(missing_ok=True)
    return result


def write_result(result: dict, results_dir: Path) -> Path:
    missing = [k for k in RESULT_KEYS if k not in result]
    if missing:
        raise BenchError(f"benchmark result lacks required keys: {', '.join(missing)}")
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{result['tier']}.json"
    path.write_text(json.dumps(result, indent=2, sort_keys=False) + "\n")
    return path


# --------------------------------------------------------------------------- reporting


def _fmt_s(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f} s"


def _fmt_mb(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} MB"


def _fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}x"


def format_report(result: dict) -> str:
    """The benchmark result as a plain-text table."""
    machine = result.get("machine", {})
    lines = [
        f"Benchmark, tier '{result['tier']}' (seed {result.get('seed')}), "
        f"{machine.get('cores')} cores, {machine.get('memory_gb')} GB, {machine.get('cpu_model')}"
        f"; load average at start {machine.get('load_average_at_start')}",
        "",
        "  rows: "
        + ", ".join(f"{table} {count:,}" for table, count in (result.get("rows") or {}).items()),
        "",
        f"  {'step':<50}{'wall time':>14}{'peak RSS':>14}",
    ]
    generate_label = "data generation"
    if result.get("generate_reused"):
        measured = result.get("generate_measured_at")
        generate_label += f" (reused, as measured {measured[:10]})" if measured else " (reused)"
    steps = [
        (generate_label, result.get("generate_s"), result.get("generate_peak_rss_mb")),
        (
            "floor (one DuckDB read of the raw data)",
            result.get("floor_s"),
            result.get("floor_peak_rss_mb"),
        ),
        (
            "raw load (raw tables copied into DuckDB as is)",
            result.get("raw_load_s"),
            result.get("raw_load_peak_rss_mb"),
        ),
        ("full dbt build", result.get("full_build_s"), result.get("full_build_peak_rss_mb")),
        ("incremental", result.get("incremental_s"), result.get("incremental_peak_rss_mb")),
        ("pandas baseline (3 metrics)", result.get("pandas_s"), result.get("pandas_peak_rss_mb")),
    ]
    for label, seconds, rss in steps:
        lines.append(f"  {label:<50}{_fmt_s(seconds):>14}{_fmt_mb(rss):>14}")
    lines.append(f"  incremental run: {result.get('incremental_kind')}")
    for step in ("full_build", "incremental"):
        failed = result.get(f"{step}_failed_tests") or []
        if failed:
            names = ", ".join(f.split(".")[2] for f in failed[:3]) + (
                ", ..." if len(failed) > 3 else ""
            )
            lines.append(f"  {step.replace('_', ' ')}: {len(failed)} data test(s) failed ({names})")
    if result.get("pandas_status") not in (None, "ok"):
        lines.append(f"  pandas baseline: {result['pandas_status']}")
    r = result.get("ratios", {})
    lines += [
        "",
        f"  full build / floor          {_fmt_ratio(r.get('full_build_over_floor'))}",
        f"  full build / raw load       {_fmt_ratio(r.get('full_build_over_raw_load'))}",
        f"  incremental / full build    {_fmt_ratio(r.get('incremental_over_full_build'))}",
        f"  pandas / full build         {_fmt_ratio(r.get('pandas_over_full_build'))}",
    ]
    nodes = result.get("full_build_nodes", {})
    if nodes:
        kinds = ", ".join(f"{k} {v:,.1f} s" for k, v in nodes["seconds_by_node_kind"].items())
        lines += ["", f"  dbt time by node kind (summed over threads): {kinds}"]
        lines.append("  slowest nodes of the full build:")
        for node in nodes["slowest_nodes"][:8]:
            lines.append(f"    {node['seconds']:>9,.1f} s  {node['node']}")
    steps = result.get("incremental_step_seconds")
    if steps:
        lines.append(
            "  nightly time by step: " + ", ".join(f"{k} {v:,.1f} s" for k, v in steps.items())
        )
    nodes = result.get("incremental_nodes", {})
    if nodes:
        lines.append("  slowest nodes of the nightly build:")
        for node in nodes["slowest_nodes"][:8]:
            lines.append(f"    {node['seconds']:>9,.1f} s  {node['node']}")
    if result.get("targets"):
        lines += ["", "  targets:"]
        for check in result["targets"]:
            status = {True: "met", False: "MISSED", None: "not measured"}[check["met"]]
            measured = check["measured"]
            shown = "-" if measured is None else f"{measured:,.3g}"
            lines.append(f"    {check['figure']:<30}{check['target']:>10}  {shown:>10}  {status}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        return _child_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m governance.bench")
    parser.add_argument("--report", type=Path, help="print the table of a results JSON")
    args = parser.parse_args(argv)
    if args.report:
        print(format_report(json.loads(args.report.read_text())))
        return 0
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
