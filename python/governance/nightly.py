"""The nightly job: check the raw files, build incrementally, validate, publish atomically.

One night, in order (each step logged as ``[nightly] ...``):

1. **Raw pre-check** (governance.contract). A missing or empty table folder, an unreadable Parquet
   file, or a contract column missing from every file of a table stops the night before dbt
   runs. A file missing a contract column is quarantined as a whole (its rows get the rule
   ``file_breaks_contract``, through the dbt var ``raw_files_breaking_contract``); a column of the
   wrong type is read value by value, values that do not parse are quarantined
   (``unparseable_value``).
2. **Work file**: a copy of the published warehouse (incremental night) or an empty file (full
   refresh: first night, ``--full-refresh``, or a night earlier than the published one).
3. **Source freshness** (``dbt source freshness``): reported, relative to the wall clock (dbt's
   own status) and to the night being built; it fails the night only with ``fail_on_stale``.
   It reads only the raw files, so it runs beside step 2: started before the copy, in a dbt
   process of its own, on an empty in-memory database and with a target folder of its own
   (freshness_target; its results in the night's ``sources.json``). The night waits for it
   once the work file is ready: its time by step (``freshness``) is that wait, the part of the
   check the copy did not cover.
4. **dbt build**: incremental facts re-process the lookback window (``lookback_days``); data
   tests include the quarantine-share limit and the raw-row reconciliation. An incremental night
   leaves out the tests on the raw sources (``source:marketplace``, warn-only diagnostics that
   re-read every raw file): the night's new files are checked row by row by the staging base
   models' quarantine rules. It also leaves out the dbt unit tests: they check the SQL on
   hand-made rows, not the night's data, and the code does not change from night to night
   (``make test`` and every full build run them). Full builds and full refreshes run both.
   After an incremental build, changes staged that the facts did not re-process (a correction
   older than the window) are reported (governance.reprocessing), night after night until a
   backfill from their day or a full refresh; with ``backfill_changes`` a second incremental
   build re-processes them from the earliest such day before publishing.
5. **Great Expectations** checkpoint (governance.quality.run_checkpoint) when available.
6. **Publish**: CHECKPOINT, then an atomic ``os.replace`` of the published file
   (governance.publish); then the state kept beside it: the validation baseline (row counts of
   step 5), the raw-source test results and the night's report. The new published file is an
   earlier one in which only what changed since is rewritten: the partitions rewritten since of
   the ``delete+insert`` incremental models (their ``unique_key``, from this run's manifest),
   and the other tables whole (governance.published_file). That earlier file is the standby
   (``<name>.standby.duckdb``: the published file the last publish replaced, kept as a hard
   link, two nights old), moved, not copied; a copy of the published file when the standby is
   missing, still open by a reader, or not of this warehouse's two latest publications (the
   log says which and why). The file replaced becomes the next standby.

Any failure (or a kill) before step 6 leaves the published warehouse, and the state beside it,
as it was. The build lock is held by every dbt process of the night too (see governance.publish).
A failed night reports only what its own dbt commands wrote (each command's results file is
removed before it runs), else dbt's own error.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from importlib.util import find_spec
from pathlib import Path

import duckdb

from governance import build_results, settings
from governance import publish as pub
from governance.contract import check_raw_dir
from governance.published_file import partition_keys
from governance.reprocessing import UnprocessedChanges, still_pending, unprocessed_changes
from governance.warehouse import (
    IN_MEMORY_DATABASE,
    StartedDbt,
    dbt_error,
    failed_nodes,
    keep_source_test_results,
    run_dbt,
    run_stats,
    start_dbt,
)

DEFAULT_LOOKBACK_DAYS = 3
FILE_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})")
# dbt build arguments by mode (see step 4 above).
MODE_ARGS = {
    "full-refresh": ["--full-refresh"],
    "incremental": ["--exclude", "source:marketplace", "resource_type:unit_test"],
}

# Contract violations that leave nothing to build: the night stops before dbt.
BLOCKING_RULES = (
    "raw folder exists",
    "table folder holds at least one .parquet file",
    "readable Parquet",
)


class NightlyError(RuntimeError):
    """The night failed; the published warehouse is unchanged. The message says why."""


@dataclass
class SourceFreshness:
    table: str
    max_loaded_at: str | None
    dbt_status: str
    hours_behind_night: float | None
    status_for_night: str


@dataclass
class NightlyReport:
    night: str | None
    mode: str
    published: str
    as_of_date: str | None = None
    seconds: float = 0.0
    step_seconds: dict = field(default_factory=dict)
    dbt: dict = field(default_factory=dict)
    contract_warnings: list[str] = field(default_factory=list)
    quarantined_files: dict = field(default_factory=dict)
    quarantine: dict = field(default_factory=dict)
    freshness: list[SourceFreshness] = field(default_factory=list)
    quality: str = "skipped"
    unprocessed_changes: list = field(default_factory=list)
    # With backfill_changes: the day the night's second build re-processed from, the changes it
    # took in, and that build's dbt figures.
    backfill: dict = field(default_factory=dict)
    # How the published file was written (governance.published_file.Changes): a copy of the
    # previous one brought up to date, or from nothing; the tables and partitions rewritten.
    publish: dict = field(default_factory=dict)
    published_at: str | None = None

    def to_json(self) -> str:
        # Fields in declaration order (stable), and step_seconds in the order the steps ran.
        return json.dumps(asdict(self), indent=2, default=str) + "\n"


def report_path(published: Path) -> Path:
    """The JSON report of the last night, beside the published warehouse."""
    return published.with_name(f"{published.stem}.nightly.json")


def read_report(published: Path) -> dict | None:
    """The JSON report of the last night (a dict), or None when there is none readable."""
    try:
        return json.loads(report_path(published).read_text())
    except (OSError, ValueError):
        return None


def parse_date(value: str | date | None, what: str) -> date | None:
    """A YYYY-MM-DD date or None; anything else is refused with a message naming `what`."""
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise NightlyError(f"{what} must be a date written YYYY-MM-DD, got {text!r}")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise NightlyError(f"{what} must be a real date, got {text!r} ({exc})") from None


def validate_lookback(value: int | str) -> int:
    text = str(value).strip()
    if not re.fullmatch(r"\d+", text) or int(text) > 365:
        raise NightlyError(
            f"lookback days must be a whole number of days between 0 and 365, got {text!r}"
        )
    return int(text)


def latest_file_night(raw_dir: Path) -> date | None:
    """The latest YYYY-MM-DD date in a raw file name (the newest night delivered), if any."""
    nights = [
        date.fromisoformat(m.group(1))
        for path in Path(raw_dir).glob("*/*.parquet")
        if (m := FILE_DATE.search(path.name))
    ]
    return max(nights) if nights else None


@dataclass
class RawPrecheck:
    blocking: list[str]
    files_breaking_contract: dict[str, dict[str, str]]
    warnings: list[str]


def precheck_raw(raw_dir: Path) -> RawPrecheck:
    """Sorts the raw-contract violations into what stops the night and what is quarantined."""
    violations = check_raw_dir(Path(raw_dir))
    blocking, warnings = [], []
    missing: dict[str, dict[str, str]] = {}
    for v in violations:
        if v.rule in BLOCKING_RULES:
            blocking.append(str(v))
        elif v.rule == "required column":
            file_name = v.detail.removeprefix("missing in ").strip()
            missing.setdefault(v.table, {}).setdefault(file_name, v.column or "")
        else:
            warnings.append(f"{v}: values that do not parse are quarantined (unparseable_value)")
    for table in missing:
        all_files = {p.name for p in (Path(raw_dir) / table).glob("*.parquet")}
        for column in sorted(
            {v.column for v in violations if v.table == table and v.rule == "required column"}
        ):
            lacking = {
                v.detail.removeprefix("missing in ").strip()
                for v in violations
                if v.table == table and v.rule == "required column" and v.column == column
            }
            if lacking and lacking == all_files:
                blocking.append(
                    f"raw table '{table}', column '{column}': missing from every file "
                    "(rule: required column); nothing of this table can be staged"
                )
    return RawPrecheck(blocking, missing, warnings)


def _freshness(target_path: Path, night: date | None) -> list[SourceFreshness]:
    sources = target_path / "sources.json"
    if not sources.exists():
        return []
    out = []
    for r in json.loads(sources.read_text()).get("results", []):
        table = r.get("unique_id", "").split(".")[-1]
        loaded = r.get("max_loaded_at")
        behind = None
        status = "unknown"
        if loaded and night is not None:
            loaded_at = datetime.fromisoformat(str(loaded).replace("Z", "+00:00"))
            night_end = datetime.combine(night + timedelta(days=1), datetime.min.time())
            behind = (night_end - loaded_at.replace(tzinfo=None)).total_seconds() / 3600.0
            criteria = r.get("criteria") or {}
            status = "pass"
            for level in ("warn", "error"):
                rule = criteria.get(f"{level}_after") or {}
                if rule.get("count") and rule.get("period"):
                    hours = {"minute": 1 / 60, "hour": 1, "day": 24}[rule["period"]] * rule["count"]
                    if behind > hours:
                        status = level
        out.append(
            SourceFreshness(
                table=table,
                max_loaded_at=str(loaded) if loaded else None,
                dbt_status=str(r.get("status")),
                hours_behind_night=None if behind is None else round(behind, 1),
                status_for_night=status,
            )
        )
    return out


def _run_quality(work: Path, published: Path, target_path: Path, log):
    """The Great Expectations checkpoint on the work file: its status and result. The row
    counts it validated become the baseline only when the night publishes (_keep_validation)."""
    if find_spec("governance.quality") is None:
        log("Great Expectations checkpoint: skipped (governance.quality is not available)")
        return "skipped", None
    from governance.quality import run_checkpoint, validation_state_path

    result = run_checkpoint(
        work,
        data_docs_dir=target_path / "gx_data_docs",
        state_path=validation_state_path(published),
        update_state=False,
    )
    if not getattr(result, "success", bool(result)):
        failures = [f.message() for f in getattr(result, "critical_failures", [])]
        raise NightlyError(
            "Great Expectations checkpoint failed:\n" + "\n".join(f"  - {m}" for m in failures)
        )
    n_warn = len(getattr(result, "warnings", []))
    log(f"Great Expectations checkpoint passed ({n_warn} warning(s))")
    return "passed", result


def _load_quality_in_background(quality: bool) -> threading.Thread | None:
    """Imports Great Expectations (several seconds) in a daemon thread while the dbt build runs
    in its own process, so the validation step after it starts at once; the thread, or None
    when the night does not validate. A failed import is left to the validation step, which
    imports the module again and reports it. Start it only once the build's dbt is started, and
    join it before starting another process: a build step is forked with ``preexec_fn``
    (governance.warehouse.run_guarded), which no other thread may run beside."""
    if not quality or find_spec("governance.quality") is None:
        return None

    def load() -> None:
        with contextlib.suppress(Exception):
            from governance.quality import import_great_expectations

            import_great_expectations()

    loading = threading.Thread(target=load, name="load-great-expectations", daemon=True)
    loading.start()
    return loading


def _keep_validation(result, published: Path) -> None:
    """Stores the checkpoint's row counts beside the published warehouse (after the publish)."""
    if result is None:
        return
    from governance.quality import (
        read_validation_state,
        validation_state_path,
        write_validation_state,
    )

    state_file = validation_state_path(published)
    write_validation_state(state_file, read_validation_state(published, state_file), result)


def _quarantine_summary(work: Path) -> dict:
    with duckdb.connect(str(work), read_only=True) as con:
        rows = con.execute(
            """
            select table_name, raw_row_count, staged_row_count, quarantined_row_count,
                   superseded_row_count
            from monitoring.data_quality_reconciliation
            order by table_name
            """
        ).fetchall()
        as_of = con.execute("select max(as_of_date) from intermediate.int_as_of_date").fetchone()
    summary = {
        r[0]: {"raw": r[1], "staged": r[2], "quarantined": r[3], "superseded": r[4]} for r in rows
    }
    return {"tables": summary, "as_of_date": str(as_of[0]) if as_of and as_of[0] else None}


def _pending_changes(published: Path) -> list[dict]:
    """The unprocessed changes the last published night reported (none without a report)."""
    report = read_report(published) if published.exists() else None
    return (report or {}).get("unprocessed_changes", [])


def _clear_dbt_artefact(target: Path, name: str) -> None:
    """Removes the results file a dbt command writes (``name``) before it runs, so a failed
    night never reports what an earlier run left in the target folder."""
    (target / name).unlink(missing_ok=True)


def _build_failed(what: str, process, results: Path) -> NightlyError:
    """The error of a failed dbt build: the failed nodes this run recorded, else dbt's own
    error from its output (an error before any node ran: profile, plugin, compilation)."""
    failures = failed_nodes(results) if results.exists() else []
    detail = "\n".join(f"  - {f}" for f in failures) or dbt_error(process.stdout or "")
    return NightlyError(f"{what}; the published warehouse is unchanged:\n" + detail)


def _with_unprocessed(
    earlier: list[UnprocessedChanges], work: Path, since: datetime, night: str | None
) -> list[UnprocessedChanges]:
    """``earlier`` (changes reported before and not taken in yet) with the changes the build
    that started at ``since`` staged and the facts in ``work`` did not re-process; a new
    finding replaces an earlier one of the same table and night."""
    with duckdb.connect(str(work), read_only=True) as con:
        found = unprocessed_changes(con, since, night)
    seen = {(u.table, u.night) for u in found}
    return [u for u in earlier if (u.table, u.night) not in seen] + found


def night_dbt_vars(lookback: int) -> dict:
    """The dbt vars every night passes (a backfill, quarantined files or ``extra_vars`` add
    theirs); the same each night, so dbt keeps its parse from one night to the next."""
    return {"lookback_days": lookback}


def _night_args(command: list[str], variables: dict, extra: list[str], target: Path) -> list[str]:
    """The arguments of a dbt command as a night runs it: with these vars, logs under
    ``target``."""
    flags = ["--vars", json.dumps(variables, sort_keys=True), "--log-path", str(target / "logs")]
    return [*command, *flags, *extra]


def _night_dbt(
    command: list[str],
    variables: dict,
    extra: list[str],
    *,
    raw_dir: Path,
    work: Path | str,
    target: Path,
    env: dict[str, str],
) -> subprocess.CompletedProcess:
    """A dbt command as a night runs it (_night_args): on the work file, quiet, the night's
    dates in ``env``."""
    return run_dbt(
        _night_args(command, variables, extra, target),
        raw_dir=raw_dir,
        duckdb_path=work,
        target_path=target,
        quiet=True,
        env=env,
    )


def parse_as_after_night(
    raw_dir: Path, published: Path, night: date, target_path: Path, env: dict[str, str]
) -> subprocess.CompletedProcess:
    """``dbt parse`` as a night of ``night`` leaves it in ``target_path`` (same vars, work file
    and dates), and in the freshness check's own target folder in it (freshness_target): what
    the next night finds there. ``env``: the environment the nights run in (its raw folder and
    warehouse paths give way to these). The first of the two that fails, else the second."""
    paths = (settings.RAW_DIR_ENV, settings.DUCKDB_PATH_ENV)
    target = Path(target_path).resolve()
    work = pub.work_path(Path(published).resolve())
    for database, parse_target in ((work, target), (IN_MEMORY_DATABASE, freshness_target(target))):
        parsed = _night_dbt(
            ["parse"],
            night_dbt_vars(DEFAULT_LOOKBACK_DAYS),
            [],
            raw_dir=Path(raw_dir).resolve(),
            work=database,
            target=parse_target,
            env={k: v for k, v in env.items() if k not in paths} | night_dbt_env(night),
        )
        if parsed.returncode != 0:
            break
    return parsed


def night_dbt_env(night: date | None) -> dict[str, str]:
    """The night's dates for dbt, as environment variables rather than dbt vars: dbt re-parses
    only the models that read a changed environment variable, but the whole project when a
    ``--vars`` value changes, as the dates do every night. Empty when the night is unknown (the
    models then take the latest listing day and the run date); a dbt var of the same name (in
    ``extra_vars``, or ``--vars`` of a dbt command) still wins."""
    day = night.isoformat() if night is not None else ""
    return {settings.AS_OF_DATE_ENV: day, settings.INGEST_DATE_ENV: day}


@dataclass
class _NightRun:
    """What the steps of one night share: paths, the log, the step clock and the work file."""

    raw_dir: Path
    published: Path
    target: Path
    log: Callable[[str], None]
    started: float
    env: dict[str, str] = field(default_factory=dict)
    work: Path | None = None
    step_seconds: dict[str, float] = field(default_factory=dict)
    last_mark: float = 0.0

    def step(self, message: str) -> None:
        self.log(f"[nightly] {message}")

    def lap(self, name: str) -> None:
        """Wall time of a step: seconds since the previous mark."""
        now = time.monotonic()
        self.step_seconds[name] = round(now - (self.last_mark or self.started), 1)
        self.last_mark = now

    def dbt(self, command: list[str], variables: dict, extra: list[str]):
        """A dbt command of the night on the work file, run to its end (_night_dbt)."""
        _clear_dbt_artefact(self.target, "run_results.json")
        return _night_dbt(
            command,
            variables,
            extra,
            raw_dir=self.raw_dir,
            work=self.work,
            target=self.target,
            env=self.env,
        )

    def start_dbt(
        self,
        command: list[str],
        variables: dict,
        extra: list[str],
        *,
        database: Path | str,
        target: Path,
    ) -> StartedDbt:
        """A dbt command of the night started beside the caller (governance.warehouse.start_dbt)
        on ``database`` (the work file, or IN_MEMORY_DATABASE), its files and logs in
        ``target``."""
        _clear_dbt_artefact(target, "run_results.json")
        return start_dbt(
            _night_args(command, variables, extra, target),
            raw_dir=self.raw_dir,
            duckdb_path=database,
            target_path=target,
            env=self.env,
        )


def _checked_raw(run: _NightRun) -> RawPrecheck:
    """The raw pre-check: stops the night on blocking problems, logs what it will quarantine."""
    run.step(f"checking raw files in {run.raw_dir}")
    pre = precheck_raw(run.raw_dir)
    if pre.blocking:
        raise NightlyError(
            "raw files cannot be built; the published warehouse is unchanged:\n"
            + "\n".join(f"  - {b}" for b in pre.blocking)
        )
    run.lap("raw_check")
    for warning in pre.warnings:
        run.step(f"warning: {warning}")
    for table, files in pre.files_breaking_contract.items():
        for file_name, column in files.items():
            run.step(
                f"quarantining raw file {table}/{file_name}: column '{column}' is missing "
                "(rule: file_breaks_contract)"
            )
    return pre


def _build_mode(run: _NightRun, night: date | None, previous: date | None, full_refresh: bool):
    """`incremental`, or `full-refresh` when asked, with no published warehouse, or for a night
    before the published one."""
    if full_refresh:
        return "full-refresh"
    if previous is None:
        run.step("no build state beside the published warehouse yet: full build")
        return "full-refresh"
    if night is not None and night < previous:
        run.step(f"night {night} is before the published night {previous}: full rebuild")
        return "full-refresh"
    return "incremental"


def _night_vars(lookback: int, reprocess: date | None, pre: RawPrecheck, extra: dict | None):
    dbt_vars = night_dbt_vars(lookback)
    if reprocess is not None:
        dbt_vars["reprocess_from"] = reprocess.isoformat()
    if pre.files_breaking_contract:
        dbt_vars["raw_files_breaking_contract"] = pre.files_breaking_contract
    dbt_vars.update(extra or {})
    return dbt_vars


def freshness_target(target: Path) -> Path:
    """The target folder of the night's ``dbt source freshness``: its own, inside the night's
    ``target``, so it never writes the files of the dbt build, and each keeps its own parse
    from one night to the next (dbt re-parses the whole project when the command's profile or
    vars change: the freshness check runs on another database)."""
    return target / "freshness"


def _start_freshness(run: _NightRun, dbt_vars: dict) -> StartedDbt:
    """``dbt source freshness`` started beside the copy of the work file. It reads only the raw
    files (external sources), so it runs on an empty in-memory DuckDB database of its own
    (IN_MEMORY_DATABASE), never on the work file, and leaves no database file; its files and
    logs go to a target folder of its own (freshness_target), its results where the night keeps
    them (``sources.json`` of the night's target folder)."""
    run.step("dbt source freshness, beside the work file")
    _clear_dbt_artefact(run.target, "sources.json")
    return run.start_dbt(
        ["source", "freshness"],
        dbt_vars,
        ["--output", str(run.target / "sources.json")],
        database=IN_MEMORY_DATABASE,
        target=freshness_target(run.target),
    )


def _check_freshness(
    run: _NightRun, started: StartedDbt, night: date | None, fail_on_stale: bool, report
):
    """The results of ``dbt source freshness`` (_start_freshness), once it is done: logged, in
    the report, the night failed on a stale source with ``fail_on_stale``. Its step time is the
    time the night waited for it after the work file was ready."""
    checked = started.wait()
    report.freshness = _freshness(run.target, night)
    if not report.freshness:
        run.step(
            "  freshness: dbt reported no result: "
            + dbt_error(checked.stdout or "").strip().replace("\n", " ")[:500]
        )
    for f in report.freshness:
        behind = (
            f"{f.hours_behind_night:.0f} h behind the night"
            if f.hours_behind_night is not None
            else "no night"
        )
        run.step(
            f"  freshness {f.table:<26} latest {f.max_loaded_at}  {behind}: "
            f"{f.status_for_night} (dbt, against the wall clock: {f.dbt_status})"
        )
    stale = [f.table for f in report.freshness if f.status_for_night == "error"]
    if stale and fail_on_stale:
        raise NightlyError(f"stale sources for night {night}: {stale}")
    run.lap("freshness")


def _build(
    run: _NightRun, dbt_vars: dict, mode: str, dbt_args: list[str], quality: bool, report
) -> Path:
    """The night's dbt build into the work file; its run_results.json. While it runs, Great
    Expectations is imported for the validation after it (with ``quality``)."""
    started = run.start_dbt(
        ["build"], dbt_vars, [*MODE_ARGS[mode], *dbt_args], database=run.work, target=run.target
    )
    try:
        loading = _load_quality_in_background(quality)
        process = started.wait()
        if loading is not None:
            loading.join()
    finally:
        started.stop()
    results = run.target / "run_results.json"
    if process.returncode != 0:
        raise _build_failed("dbt build failed", process, results)
    stats = run_stats(results)
    report.dbt = asdict(stats)
    run.step(
        f"dbt build passed: {stats.models} models, {stats.tests_passed} tests passed, "
        f"{stats.tests_warned} warned, {stats.seconds:.1f}s"
    )
    return results


def _backfill(run, dbt_vars: dict, dbt_args: list[str], left, build_since, report):
    """A second incremental build re-processing every record from the earliest day of the
    changes ``left``; returns what the facts still did not re-process after it."""
    first = min(date.fromisoformat(u.earliest_day) for u in left)
    records = sum(u.records for u in left)
    run.step(
        f"backfill of {records:,} changed record(s) the facts did not re-process: "
        f"dbt build re-processing from {first}"
    )
    process = run.dbt(
        ["build"],
        {**dbt_vars, "reprocess_from": first.isoformat()},
        [*MODE_ARGS["incremental"], *dbt_args],
    )
    results = run.target / "run_results.json"
    if process.returncode != 0:
        raise _build_failed(f"dbt build of the backfill from {first} failed", process, results)
    backfill_stats = run_stats(results)
    report.backfill = {
        "from": first.isoformat(),
        "changes": [asdict(u) for u in left],
        "dbt": asdict(backfill_stats),
    }
    # Every change reported so far dates from `first` on: only what the facts still did not
    # re-process remains.
    still_left = _with_unprocessed([], run.work, build_since, report.night)
    run.step(
        f"backfill passed: every record from {first} re-processed, {backfill_stats.seconds:.1f}s"
    )
    run.lap("backfill")
    return still_left


def _validate_and_publish(run: _NightRun, results: Path, quality: bool, report) -> None:
    """Great Expectations over the work file, the quarantine summary, then the atomic publish."""
    pub.fault_point("after-dbt")
    build_results.record(run.work, results)  # the checkpoint names the build it validates
    validation = None
    if quality:
        report.quality, validation = _run_quality(run.work, run.published, run.target, run.step)
        run.lap("quality")
    pub.fault_point("after-validation")
    build_results.record(run.work, results, validation)
    summary = _quarantine_summary(run.work)
    report.as_of_date = summary["as_of_date"]
    report.quarantine = summary["tables"]
    for table, c in summary["tables"].items():
        if c["quarantined"] or c["superseded"]:
            run.step(
                f"  {table:<26} {c['raw']:>9,} raw = {c['staged']:,} staged"
                f" + {c['quarantined']:,} quarantined + {c['superseded']:,} superseded"
            )
    run.step(f"publishing {run.published}")
    changes = pub.publish(run.work, run.published, partition_keys(run.target / "manifest.json"))
    report.publish = asdict(changes)
    run.step(f"  published file {changes.summary()}")
    _keep_validation(validation, run.published)
    keep_source_test_results(results, run.published, report.night or report.as_of_date)
    run.lap("publish")


def _write_report(run: _NightRun, report: NightlyReport) -> None:
    report.seconds = round(time.monotonic() - run.started, 1)
    report.step_seconds = run.step_seconds
    run.step("time by step: " + ", ".join(f"{k} {v:.1f}s" for k, v in run.step_seconds.items()))
    report.published_at = datetime.now(UTC).isoformat(timespec="seconds")
    report_path(run.published).write_text(report.to_json())
    run.step(f"published night {report.night or report.as_of_date} in {report.seconds:.0f}s")


def run_nightly(
    raw_dir: Path,
    published: Path,
    night: str | date | None = None,
    lookback_days: int | str = DEFAULT_LOOKBACK_DAYS,
    full_refresh: bool = False,
    reprocess_from: str | date | None = None,
    freshness: bool = True,
    fail_on_stale: bool = False,
    quality: bool = True,
    dbt_args: list[str] | None = None,
    extra_vars: dict | None = None,
    target_path: Path | None = None,
    backfill_changes: bool = False,
    log: Callable[[str], None] = print,
) -> NightlyReport:
    """Builds one night into a work file and publishes it. Raises NightlyError on failure.

    With ``backfill_changes``, changes the incremental facts did not re-process (this night's
    and those earlier nights reported) are taken in before publishing: a second incremental
    build re-processes every record from the earliest of their days (as ``governance backfill
    --from`` that day would). It costs a build of that many days, on the nights that need it.
    """
    started = time.monotonic()
    raw_dir, published = Path(raw_dir).resolve(), Path(published).resolve()
    night_date = parse_date(night, "--date")
    reprocess = parse_date(reprocess_from, "--from")
    lookback = validate_lookback(lookback_days)
    target = Path(
        target_path
        or os.environ.get("DBT_TARGET_PATH")
        or published.with_name(f"{published.stem}-target")
    ).resolve()
    run = _NightRun(raw_dir, published, target, log, started)
    with pub.build_lock(published):
        for stale in pub.remove_stale_work_files(published):
            run.step(f"removed {stale.name}, left by an interrupted build")
        pre = _checked_raw(run)
        if night_date is None:
            night_date = latest_file_night(raw_dir)
        previous_pending = _pending_changes(published)
        mode = _build_mode(run, night_date, pub.published_as_of(published), full_refresh)
        report = NightlyReport(
            night=night_date.isoformat() if night_date else None,
            mode=mode,
            published=str(published),
            contract_warnings=pre.warnings,
            quarantined_files=pre.files_breaking_contract,
        )
        dbt_vars = _night_vars(lookback, reprocess, pre, extra_vars)
        run.env = night_dbt_env(night_date)
        checking = _start_freshness(run, dbt_vars) if freshness else None
        try:
            run.work = pub.start_work_file(published, incremental=mode == "incremental")
            run.lap("work_file")
            pub.fault_point("after-copy")
            if checking is not None:
                _check_freshness(run, checking, night_date, fail_on_stale, report)
            run.step(f"dbt build ({mode}, lookback {lookback} days) into {run.work.name}")
            # dbt stamps the rows it writes with its start (processed_at, UTC): later than this.
            build_since = datetime.now(UTC).replace(tzinfo=None)
            results = _build(run, dbt_vars, mode, dbt_args or [], quality, report)
            # Changes staged on this or earlier nights that the incremental facts have not
            # re-processed (governance.reprocessing): reported every night until a backfill
            # from their day or a full refresh takes them in.
            left = still_pending(previous_pending, reprocess, mode == "full-refresh")
            if mode == "incremental":
                left = _with_unprocessed(left, run.work, build_since, report.night)
            run.lap("dbt_build")
            if left and backfill_changes:
                left = _backfill(run, dbt_vars, dbt_args or [], left, build_since, report)
            report.unprocessed_changes = [asdict(u) for u in left]
            for u in left:
                run.step(f"warning: {u.message()}")
            _validate_and_publish(run, results, quality, report)
        except BaseException:
            if run.work is not None:
                pub.discard(run.work)
            raise
        finally:
            if checking is not None:
                checking.stop()
        _write_report(run, report)
    return report


def run_backfill(
    raw_dir: Path,
    published: Path,
    start: str | date,
    end: str | date | None = None,
    **options,
) -> NightlyReport:
    """Rebuilds every record dated from ``start`` up to the night ``end`` (default: the latest
    delivered night), then publishes the warehouse as of ``end``.

    When ``end`` is before the published night, the whole warehouse is rebuilt as of ``end``.
    """
    start_date = parse_date(start, "--from")
    end_date = parse_date(end, "--to") or latest_file_night(Path(raw_dir))
    if start_date is None:
        raise NightlyError("--from is required")
    if end_date is not None and end_date < start_date:
        raise NightlyError(f"--from {start_date} is after --to {end_date}")
    return run_nightly(raw_dir, published, night=end_date, reprocess_from=start_date, **options)
