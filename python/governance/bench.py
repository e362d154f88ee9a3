"""Benchmark harness: how long the warehouse takes to build at a scale tier, against what.

For one scale tier it measures, each step in its own subprocess so that wall time and peak
memory belong to that step alone:

* ``generate``: the simulator writing the raw Parquet folders;
* ``floor``: one DuckDB pass that reads every raw table once (row count, first and last event,
  sum of a numeric column). No build can be faster than reading its input once;
* ``raw_load``: every raw table copied unchanged into a new DuckDB file, the cost of writing
  the data before any typing, checking or modelling;
* ``pandas_metrics_daily`` and ``dbt_metrics_daily``, side by side: the whole ``metrics_daily``
  computed with pandas from the raw files (``governance.pandas_metrics``, the peer), and
  ``dbt build --select +metrics_daily`` (seeds, models, their data and unit tests) on an empty
  warehouse from the same files. The two tables are then compared row for row (not timed);
* ``spark_metrics_daily`` (tiers ``SPARK_TIERS``, when the ``spark`` extra and Java are
  installed): the same ``dbt build --select +metrics_daily`` on the ``spark`` target (a local
  Spark session), its table compared with DuckDB's;
* ``spark_detection`` (with ``spark_metrics_daily``): ``dbt run --select metric_anomalies
  +seller_risk_scores`` on the Spark warehouse that step built: the detection models
  (``DETECTION_MODELS``: anomaly flags, syndicates, the risk model and scores) distributed over
  Spark, each model's time set against the same model's time in the DuckDB ``full_build``
  (both judge every day and train a first model: neither has an earlier table to resume from);
* ``full_build``: ``dbt build`` on an empty warehouse, as analysts run it (models, seeds, data
  tests and unit tests);
* ``incremental``: the nightly run on the built warehouse: ``governance nightly`` when the
  project has it, otherwise a ``dbt build`` re-run, labelled as such in the result. The last
  simulated night is held back from everything before it (``hold_back_last_night``) and
  delivered just before this step, so the night loads one real day of new records.

Every dbt step is preceded by an untimed ``dbt parse``. Peak memory is the resident set size
(RSS) of the step's process tree: the larger of the biggest single process's peak (``wait4``
resource usage, exact) and the sum over the tree sampled every ``SAMPLE_SECONDS`` (catches
concurrent children; each process counted by its proportional set size, so pages a forked child
shares with its parent count once). A step that grows past ``max_rss_mb`` is stopped and
reported as such instead of taking the machine down; for the pandas peer that is a result, not an
error.

Results go to ``bench/results/<tier>.json`` and are printed as a table with the ratios
(``ratios``) and the targets that apply to the tier (``TARGETS``). It is a benchmark, not a
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
import re
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
from governance.documented_table import sql_literal

SAMPLE_SECONDS = 0.2
RESULT_KEYS = (
    "tier",
    "machine",
    "rows",
    "generate_s",
    "floor_s",
    "raw_load_s",
    "pandas_metrics_daily_s",
    "pandas_metrics_daily_peak_rss_mb",
    "dbt_metrics_daily_s",
    "dbt_metrics_daily_peak_rss_mb",
    "full_build_s",
    "full_build_peak_rss_mb",
    "incremental_s",
    "incremental_peak_rss_mb",
)

GB8, GB16 = 8 * 1024.0, 16 * 1024.0
# Targets on the reference machine (2 cores, 24 GB): (figure or ratio, limit, tiers it applies
# to, what it says).
TARGETS = (
    (
        "pandas_over_dbt_metrics_daily",
        ">=",
        4.0,
        ("medium",),
        "dbt build +metrics_daily at least 4x faster than pandas",
    ),
    ("full_build_over_raw_load", "<=", 4.0, ("large",), "full build at most 4x the raw load"),
    (
        "incremental_over_full_build",
        "<=",
        0.10,
        ("large",),
        "a night at most 10% of the full build",
    ),
    ("full_build_peak_rss_mb", "<=", GB8, ("large",), "full build peak RSS at most 8 GB"),
    ("incremental_peak_rss_mb", "<=", GB8, ("large",), "night peak RSS at most 8 GB"),
    (
        "dbt_metrics_daily_peak_rss_mb",
        "<=",
        GB8,
        ("large",),
        "dbt build +metrics_daily peak RSS at most 8 GB",
    ),
    (
        "pandas_metrics_daily_peak_rss_mb",
        ">=",
        GB16,
        ("large",),
        "pandas metrics_daily needs more than 16 GB",
    ),
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


def process_memory_bytes(pid: int) -> int:
    """Memory a process holds, its shared pages split among the processes sharing them: the
    proportional set size (Linux /proc/<pid>/smaps_rollup), or the resident set size where the
    kernel gives no PSS. A forked child shares its parent's pages until it writes them; the RSS
    of both counts those pages twice, the PSS once."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def tree_rss_bytes(root_pid: int) -> int:
    """Memory of a process and all its descendants (Linux /proc): the sum of their
    proportional set sizes (process_memory_bytes), which counts a shared page once."""
    if not os.path.isdir("/proc"):
        return 0
    children = _children_map()
    total, stack, seen = 0, [root_pid], set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += process_memory_bytes(pid)
        stack.extend(children.get(pid, ()))
    return total


class TreeSampler(threading.Thread):
    """Samples the RSS of a process tree every SAMPLE_SECONDS, keeps the peak, and stops the
    tree (SIGKILL to its process group) once it grows past `max_rss_mb` or runs past
    `timeout_s`. A step can outgrow the limit by what it allocates in one sampling period."""

    def __init__(self, pid: int, timeout_s: float | None, max_rss_mb: float | None):
        super().__init__(daemon=True)
        self.pid, self.timeout_s, self.max_rss_mb = pid, timeout_s, max_rss_mb
        self.started = time.perf_counter()
        self.peak_bytes = 0
        self.stopped_reason: str | None = None
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(SAMPLE_SECONDS):
            rss = tree_rss_bytes(self.pid)
            self.peak_bytes = max(self.peak_bytes, rss)
            self.stopped_reason = self._limit_passed(rss)
            if self.stopped_reason:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.pid, signal.SIGKILL)
                return

    def _limit_passed(self, rss: int) -> str | None:
        if self.max_rss_mb is not None and rss > self.max_rss_mb * 2**20:
            return f"stopped: RSS of the process tree passed {self.max_rss_mb:,.0f} MB"
        if self.timeout_s is not None and time.perf_counter() - self.started > self.timeout_s:
            return f"stopped: ran past the {self.timeout_s:,.0f} s time limit"
        return None

    def finish(self) -> None:
        self._done.set()
        self.join()


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
        sampler = TreeSampler(process.pid, timeout_s, max_rss_mb)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        sampler.finish()
        process.returncode = os.waitstatus_to_exitcode(status)
        # ru_maxrss is in kilobytes on Linux (bytes on macOS).
        own_peak = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
        return Measurement(
            seconds=seconds,
            peak_rss_mb=max(own_peak, sampler.peak_bytes) / 2**20,
            returncode=process.returncode,
            stopped_reason=sampler.stopped_reason,
            log_path=log_path,
        )
    finally:
        if log_path:
            log.close()


# --------------------------------------------------------------------------- the steps


ENV_VAR_WITH_DEFAULT = re.compile(r"""\{\{\s*env_var\('(\w+)',\s*'([^']*)'\)\s*\}\}""")


def build_duckdb_settings() -> dict[str, object]:
    """The DuckDB settings the build runs with: the dev target's `settings` in profiles.yml,
    each `env_var(name, default)` resolved as dbt resolves it."""
    import yaml

    profile = yaml.safe_load((settings.project_dir() / "profiles.yml").read_text())
    configured = profile["marketplace_governance"]["outputs"]["dev"]["settings"]
    resolved: dict[str, object] = {}
    for name, value in configured.items():
        match = ENV_VAR_WITH_DEFAULT.fullmatch(value) if isinstance(value, str) else None
        resolved[name] = os.environ.get(match[1], match[2]) if match else value
    return resolved


def raw_files_literal(raw_dir: Path, table: str) -> str:
    """The Parquet files of one raw table, as a SQL string literal for read_parquet()."""
    return sql_literal(str(Path(raw_dir) / table / "*.parquet"))


def floor_pass(raw_dir: Path) -> dict[str, int]:
    """Read every raw table once with DuckDB (count, first/last event, a sum); rows per table."""
    import duckdb

    rows: dict[str, int] = {}
    con = duckdb.connect()
    try:
        for table, (event_column, numeric, key) in FLOOR_COLUMNS.items():
            pattern = raw_files_literal(raw_dir, table)
            measure_sql = f"sum({numeric})" if numeric else f"sum(length({key}))"
            count, _, _, _ = con.execute(
                f"select count(*), min({event_column}), max({event_column}), {measure_sql} "
                f"from read_parquet({pattern}, union_by_name = true)"
            ).fetchone()
            rows[table] = int(count)
    finally:
        con.close()
    return rows


RAW_LOAD_FILE = "raw_load.duckdb"  # beside raw/: the raw-load step's warehouse, removed after


def raw_load_pass(raw_dir: Path) -> dict[str, int]:
    """Copy every raw table, every column, unchanged into a new DuckDB file (one `create table
    as select *` each, with the build's DuckDB memory settings), then remove it; rows per table.

    A reference for the full build, which writes typed, checked and deduplicated tables of the
    same data: the floor reads a few columns, this reads and writes them all."""
    import duckdb

    db = Path(raw_dir).parent / RAW_LOAD_FILE
    for path in (db, db.with_name(db.name + ".wal")):
        path.unlink(missing_ok=True)
    rows: dict[str, int] = {}
    build = build_duckdb_settings()
    memory_settings = {name: build[name] for name in ("memory_limit", "preserve_insertion_order")}
    con = duckdb.connect(str(db), config=memory_settings)
    try:
        for table in FLOOR_COLUMNS:
            con.execute(
                f"create table {table} as "
                f"select * from read_parquet({raw_files_literal(raw_dir, table)}, "
                "union_by_name = true)"
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
    raw_dir, held_dir = Path(raw_dir), Path(held_dir)
    for legacy in raw_dir.glob(f"*/*{LEGACY_NIGHT_SUFFIX}"):
        legacy.unlink()
    remove_held_night(raw_dir, held_dir)
    generated = _generated_files(raw_dir)
    saved = _held_night(held_dir)
    if saved and saved["night"] == night.isoformat() and not any(generated.values()):
        return saved["rows"]
    held_dir.mkdir(parents=True, exist_ok=True)
    (held_dir / HELD_NIGHT_FILE).unlink(missing_ok=True)
    rows: dict[str, int] = {}
    for table, files in generated.items():
        if not files:
            raise BenchError(
                f"raw table '{table}': no generated files in {raw_dir / table} to hold the "
                f"night of {night} back from (generate the tier again)"
            )
        rows[table] = _hold_back_table(table, files, held_dir, night)
    (held_dir / HELD_NIGHT_FILE).write_text(
        json.dumps({"night": night.isoformat(), "rows": rows}, indent=2) + "\n"
    )
    return rows


def _generated_files(raw_dir: Path) -> dict[str, list[Path]]:
    """Per raw table, its files as generated (not yet split by ``hold_back_last_night``)."""
    from governance.simulator.feed import INITIAL_LOAD_PREFIX

    return {
        table: sorted(
            p
            for p in (raw_dir / table).glob("*.parquet")
            if not p.name.startswith(INITIAL_LOAD_PREFIX)
        )
        for table in FLOOR_COLUMNS
    }


def _hold_back_table(table: str, files: list[Path], held_dir: Path, night: date) -> int:
    """Splits the generated files of one raw table: the rows of ``night`` and later go to
    ``<held_dir>/<table>.parquet``, the others stay as the initial load of the night before.
    Rows held back."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from governance.simulator.feed import INITIAL_LOAD_PREFIX
    from governance.simulator.writer import RAW_SCHEMAS, write

    prefix = f"{INITIAL_LOAD_PREFIX}{(night - timedelta(days=1)).isoformat()}-"
    event_column = FLOOR_COLUMNS[table][0]
    held_parts = []
    for path in files:
        part = pq.read_table(path, schema=RAW_SCHEMAS[table])
        on_night = pc.greater_equal(
            pc.cast(part.column(event_column), pa.date32()), pa.scalar(night, pa.date32())
        ).fill_null(False)
        held_parts.append(part.filter(on_night))
        staying = path.parent / f"{prefix}{path.name}.tmp"
        write(part.filter(pc.invert(on_night)), staying)
        path.unlink()
        staying.rename(staying.with_suffix(""))
    held = pa.concat_tables(held_parts)
    write(held, held_dir / f"{table}.parquet")
    return held.num_rows


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


PANDAS_OUTPUT = "pandas_metrics_daily.parquet"  # in the work folder: the peer's table


def pandas_metrics_daily_pass(raw_dir: Path, project: Path | None = None) -> dict[str, int]:
    """The pandas peer: the whole metrics_daily from the raw files, written beside them as
    ``PANDAS_OUTPUT`` (a notebook saves its result too); its rows."""
    from governance.pandas_metrics import metrics_daily

    frame = metrics_daily(Path(raw_dir), project)
    frame.to_parquet(Path(raw_dir).parent / PANDAS_OUTPUT, index=False)
    return {"rows": len(frame)}


CHILD_STEPS: dict[str, Callable[[Path, Path | None], dict[str, int]]] = {
    "floor": lambda raw_dir, _project: floor_pass(raw_dir),
    "raw_load": lambda raw_dir, _project: raw_load_pass(raw_dir),
    "pandas_metrics_daily": pandas_metrics_daily_pass,
}
CHILD_RESULT_PREFIX = "BENCH-RESULT "


def _child_main(argv: Sequence[str]) -> int:
    step, raw_dir, *project = argv
    result = CHILD_STEPS[step](Path(raw_dir), Path(project[0]) if project else None)
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


SPARK_TIERS = ("tiny", "small")  # Spark's local session on one machine: the small tiers only
SPARK_DIR_ENV = "GOVERNANCE_SPARK_DIR"
# The Spark target refuses the public demo salt; the generated data's PII is made up.
SPARK_BENCH_SALT = "bench-generated-data-salt"


def spark_unavailable(tier: str, skip: Sequence[str]) -> str | None:
    """Why the Spark step does not run for this tier, or None when it does."""
    if "spark" in skip:
        return "skipped"
    if tier not in SPARK_TIERS:
        return f"not run at this tier (runs at {', '.join(SPARK_TIERS)})"
    if importlib.util.find_spec("pyspark") is None:
        return "skipped: the spark extra is not installed (pip install -e '.[spark]')"
    with contextlib.suppress(ModuleNotFoundError):
        if importlib.util.find_spec("dbt.adapters.spark") is not None:
            if shutil.which("java") or os.environ.get("JAVA_HOME"):
                return None
            return "skipped: Spark needs a Java runtime (17)"
    return "skipped: dbt-spark is not installed (pip install -e '.[spark]')"


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


# --------------------------------------------------------------------------- figures


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
        "incremental_rerun_over_full_build": ratio("incremental_rerun_s", "full_build_s"),
        "pandas_over_dbt_metrics_daily": ratio("pandas_metrics_daily_s", "dbt_metrics_daily_s"),
        "spark_over_duckdb_metrics_daily": ratio("spark_metrics_daily_s", "dbt_metrics_daily_s"),
        # dbt's own time in the models alone, without starting dbt or Spark and without tests.
        "spark_over_duckdb_metrics_daily_models": _model_seconds_ratio(
            result.get("spark_metrics_daily_nodes"), result.get("dbt_metrics_daily_nodes")
        ),
        # The detection models, distributed on Spark against pandas on DuckDB (model times).
        **{
            f"spark_over_duckdb_{name}": _detection_ratio(result, models)
            for name, models in DETECTION_RATIOS.items()
        },
    }


# The detection models the Spark benchmark step runs, and the ratios of their model times.
DETECTION_MODELS = (
    "metric_anomalies",
    "seller_syndicates",
    "syndicates",
    "seller_risk_models",
    "seller_risk_scores",
)
DETECTION_RATIOS = {
    "metric_anomalies": ("metric_anomalies",),
    "syndicates": ("seller_syndicates", "syndicates"),
    "risk_scores": ("seller_risk_models", "seller_risk_scores"),
    "detection": DETECTION_MODELS,
}


def _detection_ratio(result: dict, models: tuple[str, ...]) -> float | None:
    """Spark's summed model time of ``models`` over DuckDB's (None unless all were timed)."""
    spark, duck = (result.get(f"{e}_detection_models_s") or {} for e in ("spark", "duckdb"))
    if any(spark.get(m) is None or duck.get(m) is None for m in models):
        return None
    denominator = sum(duck[m] for m in models)
    return round(sum(spark[m] for m in models) / denominator, 4) if denominator > 0 else None


def _model_seconds_ratio(numerator: dict | None, denominator: dict | None) -> float | None:
    seconds = [
        (n or {}).get("seconds_by_node_kind", {}).get("model") for n in (numerator, denominator)
    ]
    if None in seconds or seconds[1] <= 0:
        return None
    return round(seconds[0] / seconds[1], 4)


def target_checks(result: dict) -> list[dict]:
    """The targets that apply to this tier, with the measured figure and met or not."""
    figures = {**result, **result.get("ratios", {})}
    checks = []
    for name, op, limit, tiers, meaning in TARGETS:
        if result.get("tier") not in tiers:
            continue
        value = figures.get(name)
        met = None if value is None else (value <= limit if op == "<=" else value >= limit)
        checks.append(
            {
                "figure": name,
                "target": f"{op} {limit:g}",
                "measured": value,
                "met": met,
                "meaning": meaning,
            }
        )
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


def quarantined_raw_rows(con) -> int:
    """Raw rows a warehouse's staging quarantined, over every base model it built."""
    tables = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_name like 'base_marketplace__%'"
    ).fetchall()
    return sum(
        con.execute(
            f'select count(*) from "{schema}"."{name}" where disposition = \'quarantined\''
        ).fetchone()[0]
        for schema, name in tables
    )


# --------------------------------------------------------------------------- the run


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


# The selection of the dbt steps that build metrics_daily: the table, every model, seed and
# unit test it is built from, and the data tests whose models are all selected (cautious: a
# test that also reads a model outside the selection would find no table).
METRICS_DAILY_SELECTION = ["--select", "+metrics_daily", "--indirect-selection", "cautious"]
METRICS_DAILY_DB = "metrics_daily.duckdb"  # in the work folder: that build's warehouse
DBT_OUTPUT = "dbt_metrics_daily.parquet"  # in the work folder: its table, for the Spark check


@dataclass
class BenchRun:
    """One benchmark run in progress: its configuration, folders, environment and figures."""

    config: BenchConfig
    echo: Callable[[str], None]
    work: Path
    project: Path
    env: dict[str, str]
    result: dict
    previous: dict | None
    # The nightly command the incremental step ran, when it ran one and it passed.
    night_command: list[str] | None = None

    @classmethod
    def start(cls, config: BenchConfig, echo: Callable[[str], None]) -> BenchRun:
        from governance.warehouse import dbt_env

        work = config.work_dir.resolve()
        (work / "logs").mkdir(parents=True, exist_ok=True)
        env = {**dbt_env(work / "raw", work / "governance.duckdb"), **config.extra_env}
        env["PYTHONUNBUFFERED"] = "1"
        previous = config.results_dir / f"{config.tier}.json"
        return cls(
            config=config,
            echo=echo,
            work=work,
            project=(config.project_dir or settings.project_dir()).resolve(),
            env=env,
            result={
                "tier": config.tier,
                "seed": config.seed,
                "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": machine_info(),
                "dbt_target": config.dbt_target or os.environ.get(settings.TARGET_ENV, "dev"),
                "generate_reused": False,
            },
            previous=json.loads(previous.read_text()) if previous.exists() else None,
        )

    @property
    def raw(self) -> Path:
        return self.work / "raw"

    @property
    def db(self) -> Path:
        return self.work / "governance.duckdb"

    def measure(
        self, command: list[str], log: str, env: dict[str, str] | None = None
    ) -> Measurement:
        """Run one step's command from the project folder, logged to logs/<log>.log."""
        return measure(
            command,
            env=env or self.env,
            cwd=self.project,
            log_path=self.work / "logs" / f"{log}.log",
            timeout_s=self.config.timeout_s,
            max_rss_mb=self.config.max_rss_mb,
        )

    def measure_child(self, step: str) -> Measurement:
        """A step of this module (CHILD_STEPS) in its own process."""
        command = [sys.executable, "-m", "governance.bench", "--child", step, str(self.raw)]
        return self.measure([*command, str(self.project)], step)

    def dbt(self, args: list[str], target_path: Path, target: str | None = None) -> list[str]:
        """A dbt command line for this run's project, target folder and logs."""
        from governance.warehouse import dbt_executable

        command = [dbt_executable(), *args, "--project-dir", str(self.project)]
        command += ["--profiles-dir", str(self.project)]
        command += ["--target-path", str(target_path), "--log-path", str(self.work / "logs")]
        target = target or self.config.dbt_target
        return command + (["--target", target] if target else [])

    def parse(self, target_path: Path, env: dict[str, str], target: str | None = None) -> float:
        """``dbt parse`` before a timed dbt step, so that the step does not parse; seconds."""
        self.echo("[bench] dbt parse ...")
        m = self.measure(self.dbt(["parse"], target_path, target), "parse", env)
        return round(_step("dbt parse", m).seconds, 3)

    def record(self, step: str, m: Measurement) -> None:
        """`<step>_s` and `<step>_peak_rss_mb` of a measured step."""
        self.result[f"{step}_s"] = round(m.seconds, 3)
        self.result[f"{step}_peak_rss_mb"] = round(m.peak_rss_mb)

    def checkpoint(self) -> None:
        """Figures so far, so that a run stopped part-way still leaves what it measured."""
        self.config.results_dir.mkdir(parents=True, exist_ok=True)
        self._partial().write_text(json.dumps(self.result, indent=2) + "\n")

    def finish(self) -> dict:
        """Ratios and targets of the measured figures; writes `<tier>.json`."""
        self.result["ratios"] = ratios(self.result)
        self.result["targets"] = target_checks(self.result)
        self.result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        write_result(self.result, self.config.results_dir)
        self._partial().unlink(missing_ok=True)
        return self.result

    def _partial(self) -> Path:
        return self.config.results_dir / f"{self.config.tier}.partial.json"


def _remove_duckdb(db: Path) -> None:
    from governance.publish import state_path

    for path in (db, state_path(db)):
        path.unlink(missing_ok=True)
        path.with_name(path.name + ".wal").unlink(missing_ok=True)


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


# --------------------------------------------------------------------------- the steps of a run


def generate_step(run: BenchRun) -> None:
    """The simulator writes the tier's raw folders (or the raw data of a run before is kept)."""
    config = run.config
    if config.reuse_data and (run.raw / "orders").is_dir():
        run.echo(f"[bench] reusing raw data in {run.raw}")
        run.result.update(generate_s=None, generate_peak_rss_mb=None, generate_reused=True)
        return
    run.echo(f"[bench] generating the '{config.tier}' tier into {run.raw} ...")
    command = [sys.executable, "-m", "governance.cli", "generate", "--scale", config.tier]
    command += ["--seed", str(config.seed), "--raw-dir", str(run.raw)]
    command += ["--truth-dir", str(run.work / "truth")]
    run.record("generate", _step("generate", run.measure(command, "generate")))


def hold_back_night_step(run: BenchRun) -> None:
    """The last simulated night leaves the raw folders until the nightly step (not timed)."""
    night = _last_simulated_day(run.work / "truth")
    run.echo(f"[bench] holding the night of {night} back for the nightly step (not timed) ...")
    held_rows = hold_back_last_night(run.raw, run.work / HELD_NIGHT_DIR, night)
    run.result.update(
        incremental_night=night.isoformat(),
        incremental_night_rows=held_rows,
        incremental_night_held_back=True,
    )


def floor_step(run: BenchRun) -> None:
    """One DuckDB pass over every raw table: the rows, and the floor no build can beat."""
    run.echo("[bench] floor: one DuckDB pass over every raw table ...")
    m = _step("floor", run.measure_child("floor"))
    run.result["rows"] = _child_result(m.log_path)
    run.record("floor", m)
    if run.result["generate_reused"]:
        generated = generated_rows(run.result)
        run.result.update(generation_of_reused_data(run.previous, run.config.seed, generated))


def raw_load_step(run: BenchRun) -> None:
    """Every raw table copied unchanged into a DuckDB file."""
    run.echo("[bench] raw load: every raw table copied unchanged into a DuckDB file ...")
    run.record("raw_load", _step("raw load", run.measure_child("raw_load")))


def pandas_metrics_daily_step(run: BenchRun) -> None:
    """The pandas peer computes the whole metrics_daily. A peer that cannot finish on this
    machine (stopped past the memory or time limit) is a result, not a harness error."""
    (run.work / PANDAS_OUTPUT).unlink(missing_ok=True)
    if "pandas" in run.config.skip:
        run.result.update(pandas_metrics_daily_s=None, pandas_metrics_daily_peak_rss_mb=None)
        run.result["pandas_metrics_daily_status"] = "skipped"
        return
    run.echo("[bench] pandas: the whole metrics_daily from the raw files ...")
    m = run.measure_child("pandas_metrics_daily")
    run.record("pandas_metrics_daily", m)
    if m.ok:
        run.result["pandas_metrics_daily_status"] = "ok"
        return
    reason = m.stopped_reason or f"failed with exit code {m.returncode}"
    run.result["pandas_metrics_daily_s"] = None
    run.result["pandas_metrics_daily_status"] = f"{reason} after {m.seconds:,.0f} s"


def dbt_metrics_daily_step(run: BenchRun) -> None:
    """``dbt build --select +metrics_daily`` on an empty warehouse of its own."""
    db = run.work / METRICS_DAILY_DB
    _remove_duckdb(db)
    env = {**run.env, settings.DUCKDB_PATH_ENV: str(db)}
    target = run.work / "target_metrics_daily"
    run.result["dbt_metrics_daily_parse_s"] = run.parse(target, env)
    run.echo("[bench] dbt build --select +metrics_daily on an empty warehouse ...")
    command = run.dbt(["build", *METRICS_DAILY_SELECTION], target)
    m = run.measure(command, "dbt_metrics_daily", env)
    failed = _build_outcome("dbt build +metrics_daily", m, target)
    run.record("dbt_metrics_daily", m)
    run.result.update(
        dbt_metrics_daily_command=" ".join(["dbt", "build", *METRICS_DAILY_SELECTION]),
        dbt_metrics_daily_failed_tests=failed,
        dbt_metrics_daily_nodes=node_timings(target / "run_results.json", top=15),
    )


def compare_metrics_daily_step(run: BenchRun) -> None:
    """The peer's table against the warehouse's, row for row (not timed); keeps the
    warehouse's table for the Spark check and removes that warehouse."""
    import duckdb
    import pandas as pd

    from governance.pandas_metrics import PeerError, compare_with_warehouse

    db = run.work / METRICS_DAILY_DB
    with duckdb.connect(str(db), read_only=True) as con:
        warehouse = con.execute("select * from metrics.metrics_daily").df()
        quarantined = quarantined_raw_rows(con)
    _remove_duckdb(db)
    warehouse.to_parquet(run.work / DBT_OUTPUT, index=False)
    if run.result.get("pandas_metrics_daily_status") != "ok":
        run.result["metrics_daily_match"] = {"matched": None, "rows": len(warehouse)}
        return
    run.echo("[bench] comparing the two metrics_daily tables row for row ...")
    try:
        match = compare_with_warehouse(pd.read_parquet(run.work / PANDAS_OUTPUT), warehouse)
    except PeerError as exc:
        raise BenchError(f"comparing metrics_daily with the pandas peer: {exc}") from exc
    run.result["metrics_daily_match"] = {**match, "quarantined_raw_rows": quarantined}


def spark_metrics_daily_step(run: BenchRun) -> None:
    """``dbt build --select +metrics_daily`` on the spark target (local session), its table
    compared with DuckDB's; skipped, with the reason, where Spark does not run."""
    reason = spark_unavailable(run.config.tier, run.config.skip)
    if reason:
        run.result.update(spark_metrics_daily_s=None, spark_metrics_daily_status=reason)
        return
    spark_dir = run.work / "spark"
    shutil.rmtree(spark_dir, ignore_errors=True)
    env = {**run.env, SPARK_DIR_ENV: str(spark_dir), settings.PII_SALT_ENV: SPARK_BENCH_SALT}
    target = run.work / "target_spark"
    run.result["spark_metrics_daily_parse_s"] = run.parse(target, env, "spark")
    run.echo("[bench] dbt build --select +metrics_daily on the spark target ...")
    command = run.dbt(["build", *METRICS_DAILY_SELECTION], target, "spark")
    m = run.measure(command, "spark_metrics_daily", env)
    failed = _build_outcome("spark dbt build +metrics_daily", m, target)
    run.record("spark_metrics_daily", m)
    run.result.update(
        spark_metrics_daily_status="ok",
        spark_metrics_daily_failed_tests=failed,
        spark_metrics_daily_nodes=node_timings(target / "run_results.json", top=15),
        spark_metrics_daily_match=_spark_match(run, spark_dir),
    )


def _spark_match(run: BenchRun, spark_dir: Path) -> dict:
    """Spark's metrics_daily against DuckDB's, on the columns the pandas peer compares."""
    import duckdb
    import pandas as pd

    from governance.pandas_metrics import compare_with_warehouse

    files = str(spark_dir / "warehouse" / "metrics.db" / "metrics_daily" / "*.parquet")
    with duckdb.connect() as con:
        spark = con.execute("select * from read_parquet(?)", [files]).df()
    return compare_with_warehouse(pd.read_parquet(run.work / DBT_OUTPUT), spark)


def model_seconds(run_results: Path, unique_id: str) -> float | None:
    """The execution time of one node in a dbt run_results.json (None when it did not run)."""
    if not Path(run_results).exists():
        return None
    for r in json.loads(Path(run_results).read_text())["results"]:
        if r["unique_id"] == unique_id and r["status"] == "success":
            return round(float(r.get("execution_time") or 0.0), 3)
    return None


def detection_model_seconds(run_results: Path) -> dict[str, float | None]:
    """The execution time of each of ``DETECTION_MODELS`` in a dbt run_results.json."""
    return {
        name: model_seconds(run_results, f"model.marketplace_governance.{name}")
        for name in DETECTION_MODELS
    }


def spark_detection_step(run: BenchRun) -> None:
    """``dbt run --select metric_anomalies +seller_risk_scores`` on the Spark warehouse of
    spark_metrics_daily: every detection model, distributed."""
    if run.result.get("spark_metrics_daily_status") != "ok":
        run.result.update(
            spark_detection_s=None,
            spark_detection_status=run.result.get("spark_metrics_daily_status"),
        )
        return
    spark_dir = run.work / "spark"
    env = {**run.env, SPARK_DIR_ENV: str(spark_dir), settings.PII_SALT_ENV: SPARK_BENCH_SALT}
    target = run.work / "target_spark_detection"
    run.parse(target, env, "spark")
    run.echo("[bench] dbt run of the detection models on the spark target ...")
    selection = ["--select", "metric_anomalies", "+seller_risk_scores"]
    command = run.dbt(["run", *selection], target, "spark")
    m = run.measure(command, "spark_detection", env)
    _build_outcome("spark dbt run of the detection models", m, target)
    run.record("spark_detection", m)
    run.result.update(
        spark_detection_status="ok",
        spark_detection_models_s=detection_model_seconds(target / "run_results.json"),
    )


def full_build_step(run: BenchRun) -> None:
    """``dbt build`` of the whole project on an empty warehouse."""
    _remove_duckdb(run.db)
    target = run.work / "target_full"
    run.result["parse_s"] = run.parse(target, run.env)
    run.echo("[bench] full dbt build ...")
    m = run.measure(run.dbt(["build"], target), "full_build")
    run.result["full_build_failed_tests"] = _build_outcome("full dbt build", m, target)
    run.record("full_build", m)
    run.result.update(
        duckdb_detection_models_s=detection_model_seconds(target / "run_results.json"),
        full_build_nodes=node_timings(target / "run_results.json"),
        warehouse_mb=round(run.db.stat().st_size / 2**20) if run.db.exists() else None,
    )


def incremental_step(run: BenchRun) -> None:
    """The nightly run on the built warehouse, after the held-back night is delivered."""
    if "incremental" in run.config.skip:
        run.result.update(incremental_s=None, incremental_peak_rss_mb=None)
        run.result["incremental_kind"] = "skipped"
        return
    target = run.work / "target_incremental"
    shutil.copytree(run.work / "target_full", target, dirs_exist_ok=True)  # the partial parse
    (target / "run_results.json").unlink(missing_ok=True)
    kind, command = _night(run, target) if nightly_available() else _rebuild(run, target)
    run.echo(f"[bench] incremental: {kind} ...")
    m = run.measure(command, "incremental")
    run.result["incremental_failed_tests"] = (
        [] if m.ok else _build_outcome("incremental", m, target)
    )
    run.record("incremental", m)
    run.result.update(
        incremental_kind=kind,
        incremental_command=" ".join(
            Path(command[0]).name if i == 0 else c for i, c in enumerate(command)
        ),
    )
    run.result.update(incremental_breakdown(run.db, target))
    run.night_command = command if m.ok and nightly_available() else None


def rerun_night_step(run: BenchRun) -> None:
    """The same night run again once it is published: nothing new to take in, so what it costs
    is what every night costs whatever it brings (starting dbt, the models and tests that
    re-write their windows, the copy, the checks and the publish). Its publish starts from a
    standby two publications old, as every night after the first does."""
    if run.night_command is None:
        run.result.update(incremental_rerun_s=None, incremental_rerun_peak_rss_mb=None)
        return
    target = run.work / "target_incremental"
    run.echo("[bench] the same night again, nothing new ...")
    m = run.measure(run.night_command, "incremental_rerun")
    if not m.ok:
        raise BenchError(f"the night run again failed (exit {m.returncode}): see {m.log_path}")
    run.record("incremental_rerun", m)
    run.result.update(
        {
            key.replace("incremental_", "incremental_rerun_"): value
            for key, value in incremental_breakdown(run.db, target).items()
        }
    )


def _night(run: BenchRun, target: Path) -> tuple[str, list[str]]:
    """Delivers the held-back night and parses as the night before would have (not timed);
    what the step runs and its command."""
    from governance.nightly import parse_as_after_night
    from governance.publish import (
        copy_file,
        publish,
        standby_path,
        start_work_file,
        state_path,
    )

    night = date.fromisoformat(run.result["incremental_night"])
    # The full build is the build state the night starts from, published beside it, as a
    # published build leaves them (governance.publish). A night finds beside them the standby
    # the publish before it kept, which its publish starts from: here a copy of the published
    # file, so the night's publish rewrites what this night changed, where after a night it
    # would also rewrite what the night before changed.
    if run.db.exists():
        os.replace(run.db, state_path(run.db))
        run.echo("[bench] publishing the full build, and its standby (not timed) ...")
        publish(start_work_file(run.db, incremental=True), run.db)
        copy_file(run.db, standby_path(run.db))
    run.echo(f"[bench] delivering the night of {night} (not timed) ...")
    deliver_held_night(run.raw, run.work / HELD_NIGHT_DIR)
    # What a night finds from the night before: dbt's parse of the project with the previous
    # night's dates, so the night re-parses only what reads its dates.
    parsed = parse_as_after_night(run.raw, run.db, night - timedelta(days=1), target, run.env)
    if parsed.returncode != 0:
        raise BenchError(f"dbt parse before the night failed: {parsed.stdout[-2000:]}")
    kind = (
        "governance nightly (incremental dbt build, validation, atomic publish) on the "
        f"built warehouse after one new night of raw files: {night}.parquet in every "
        "table, the rows of the last simulated day, held back from the full build"
    )
    command = [sys.executable, "-m", "governance.cli", "nightly", "--raw-dir", str(run.raw)]
    command += ["--duckdb-path", str(run.db), "--target-path", str(target)]
    return kind, [*command, "--date", night.isoformat()]


def _rebuild(run: BenchRun, target: Path) -> tuple[str, list[str]]:
    kind = (
        "dbt build re-run on the built warehouse, same data "
        "(no incremental models or nightly command in the project yet)"
    )
    return kind, run.dbt(["build"], target)


# In the order they run. The pandas peer and dbt's +metrics_daily run side by side, on the
# raw files the full build reads (the night is held back before the floor).
STEPS: tuple[Callable[[BenchRun], None], ...] = (
    generate_step,
    hold_back_night_step,
    floor_step,
    raw_load_step,
    pandas_metrics_daily_step,
    dbt_metrics_daily_step,
    compare_metrics_daily_step,
    spark_metrics_daily_step,
    spark_detection_step,
    full_build_step,
    incremental_step,
    rerun_night_step,
)


def run_benchmark(config: BenchConfig, echo: Callable[[str], None] = print) -> dict:
    """Run every step for one tier, write `<results_dir>/<tier>.json`, return the result."""
    run = BenchRun.start(config, echo)
    for step in STEPS:
        step(run)
        run.checkpoint()
    return run.finish()


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


# (label, key prefix of `<prefix>_s` and `<prefix>_peak_rss_mb`), in the order the steps run.
REPORTED_STEPS = (
    ("data generation", "generate"),
    ("floor (one DuckDB read of the raw data)", "floor"),
    ("raw load (raw tables copied into DuckDB as is)", "raw_load"),
    ("pandas: the whole metrics_daily", "pandas_metrics_daily"),
    ("dbt build --select +metrics_daily (DuckDB)", "dbt_metrics_daily"),
    ("dbt build --select +metrics_daily (Spark)", "spark_metrics_daily"),
    ("dbt run of the detection models (Spark)", "spark_detection"),
    ("full dbt build", "full_build"),
    ("incremental", "incremental"),
    ("the same night again (nothing new)", "incremental_rerun"),
)
REPORTED_RATIOS = (
    ("full build / floor", "full_build_over_floor"),
    ("full build / raw load", "full_build_over_raw_load"),
    ("incremental / full build", "incremental_over_full_build"),
    ("  the same night again / full build", "incremental_rerun_over_full_build"),
    ("pandas / dbt +metrics_daily", "pandas_over_dbt_metrics_daily"),
    ("Spark / DuckDB +metrics_daily", "spark_over_duckdb_metrics_daily"),
    ("  the same, model time only", "spark_over_duckdb_metrics_daily_models"),
    ("Spark / DuckDB detection models", "spark_over_duckdb_detection"),
    ("  anomalies", "spark_over_duckdb_metric_anomalies"),
    ("  syndicates (both models)", "spark_over_duckdb_syndicates"),
    ("  risk (model and scores)", "spark_over_duckdb_risk_scores"),
)


def _header_lines(result: dict) -> list[str]:
    machine = result.get("machine", {})
    rows = result.get("rows") or {}
    return [
        f"Benchmark, tier '{result['tier']}' (seed {result.get('seed')}), "
        f"{machine.get('cores')} cores, {machine.get('memory_gb')} GB, {machine.get('cpu_model')}"
        f"; load average at start {machine.get('load_average_at_start')}",
        "",
        "  rows: " + ", ".join(f"{table} {count:,}" for table, count in rows.items()),
    ]


def _step_lines(result: dict) -> list[str]:
    lines = ["", f"  {'step':<50}{'wall time':>14}{'peak RSS':>14}"]
    for label, prefix in REPORTED_STEPS:
        if prefix == "generate" and result.get("generate_reused"):
            measured = result.get("generate_measured_at")
            label += f" (reused, as measured {measured[:10]})" if measured else " (reused)"
        seconds, rss = result.get(f"{prefix}_s"), result.get(f"{prefix}_peak_rss_mb")
        lines.append(f"  {label:<50}{_fmt_s(seconds):>14}{_fmt_mb(rss):>14}")
    lines.append(f"  incremental run: {result.get('incremental_kind')}")
    for prefix in ("pandas_metrics_daily", "spark_metrics_daily"):
        status = result.get(f"{prefix}_status")
        if status not in (None, "ok"):
            lines.append(f"  {prefix.replace('_', ' ')}: {status}")
    for step in ("dbt_metrics_daily", "spark_metrics_daily", "full_build", "incremental"):
        failed = result.get(f"{step}_failed_tests") or []
        if failed:
            names = ", ".join(f.split(".")[2] for f in failed[:3])
            more = ", ..." if len(failed) > 3 else ""
            lines.append(
                f"  {step.replace('_', ' ')}: {len(failed)} data test(s) failed ({names}{more})"
            )
    return lines


def _match_lines(result: dict) -> list[str]:
    lines = []
    for key, label in (
        ("metrics_daily_match", "pandas metrics_daily = DuckDB's"),
        ("spark_metrics_daily_match", "Spark metrics_daily = DuckDB's"),
    ):
        match = result.get(key)
        if not match:
            continue
        if match.get("matched") is None:
            lines.append(f"  {label}: not compared ({match.get('rows', 0):,} warehouse rows)")
            continue
        verdict = "yes" if match["matched"] else "NO"
        lines.append(
            f"  {label}: {verdict}, {match['rows']:,} rows "
            f"({match['mismatched_rows']:,} differ, {match['only_in_pandas']:,} only on the "
            f"left, {match['only_in_warehouse']:,} only on the right)"
        )
    return [""] + lines if lines else []


def _ratio_lines(result: dict) -> list[str]:
    r = result.get("ratios", {})
    return [""] + [f"  {label:<32}{_fmt_ratio(r.get(key))}" for label, key in REPORTED_RATIOS]


def _node_lines(result: dict, key: str, title: str, shown: int = 8) -> list[str]:
    nodes = result.get(key)
    if not nodes:
        return []
    kinds = ", ".join(f"{k} {v:,.1f} s" for k, v in nodes["seconds_by_node_kind"].items())
    lines = ["", f"  dbt time by node kind, {title} (summed over threads): {kinds}"]
    lines.append(f"  slowest nodes of the {title}:")
    for node in nodes["slowest_nodes"][:shown]:
        lines.append(f"    {node['seconds']:>9,.1f} s  {node['node']}")
    return lines


def _target_lines(result: dict) -> list[str]:
    if not result.get("targets"):
        return []
    lines = ["", "  targets:"]
    for check in result["targets"]:
        status = {True: "met", False: "MISSED", None: "not measured"}[check["met"]]
        measured = check["measured"]
        shown = "-" if measured is None else f"{measured:,.3g}"
        lines.append(f"    {check['figure']:<34}{check['target']:>10}  {shown:>10}  {status}")
    return lines


def format_report(result: dict) -> str:
    """The benchmark result as a plain-text table."""
    lines = _header_lines(result) + _step_lines(result) + _match_lines(result)
    lines += _ratio_lines(result)
    lines += _node_lines(result, "dbt_metrics_daily_nodes", "dbt build +metrics_daily")
    lines += _node_lines(result, "full_build_nodes", "full build")
    for prefix, title in (
        ("incremental", "nightly build"),
        ("incremental_rerun", "same night again"),
    ):
        steps = result.get(f"{prefix}_step_seconds")
        if steps:
            by_step = ", ".join(f"{k} {v:,.1f} s" for k, v in steps.items())
            lines += ["", f"  {title}, time by step: {by_step}"]
        lines += _node_lines(result, f"{prefix}_nodes", title)
    return "\n".join(lines + _target_lines(result))


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
