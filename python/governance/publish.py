"""Atomic publication of the warehouse: the file BI tools read and the build's own state.

A build keeps two DuckDB files side by side:

- the **published** file (``GOVERNANCE_DUCKDB_PATH``, default ``warehouse/governance.duckdb``):
  what BI tools, the dashboard, MetricFlow and `governance summary` read, read-only. It holds the
  consumer schemas only (the dbt var ``published_schemas`` in dbt_project.yml: metrics,
  monitoring, strategy, detection, semantic, reference), every relation with its table and column
  comments; no base, staging or intermediate relation, so no hashed identity value either.
- the **state** (``<stem>.state<suffix>``, e.g. ``warehouse/governance.state.duckdb``,
  `state_path`): everything dbt built, build internals included. The next build starts from it
  (incremental nights copy it), and `published_as_of` reads its reporting date.

Builds write to neither: a build works on a private copy of the state (the work file, hidden,
same directory). Only a build that passed validation publishes (`publish`): it writes a fresh
published file next to the published one from the work file's consumer schemas, CHECKPOINTs and
fsyncs it and moves it over the published file with one ``os.replace``, then moves the work file
over the state the same way.

The fresh published file costs what the build changed, not the history, and on a normal night
nothing is copied to write it. It starts from an earlier published file, and only the tables
and partitions that differ from the work file's are then written (governance.published_file.
update: a ``delete+insert`` incremental model gets the partitions that differ, every other
table is written whole). That earlier file is the **standby** (``<stem>.standby<suffix>``,
`standby_path`): the published file the last publish replaced, which that publish kept as a
hard link (`_keep_standby`); it is moved to the fresh file's path, so it is two nights old and
gets what both nights changed. Each file carries a publication record (``monitoring.
publication``: id, time, reporting date, and the id of the publication of the state it was
built from; `renew_publication`): the work file starts with its state's, each publish gives the
work file and the published file a new one, and an earlier file is used only when its id is
that of the state the work file started from or of the one before it. When the standby cannot
be used (missing; held open by a reader, whose DuckDB read-only connection holds a shared lock
on it, so that it cannot be opened for writing: it is left to the reader; a write-ahead log
beside it; the published file itself, from a publish killed before its replace; of another
publication), the fresh file starts as a copy of the published file (`copy_file`, I/O only) on
the same condition, and the summary says why (`published_file.Changes`). Otherwise (the first
build, a full build, which starts from an empty work file, a published file of another layout)
the file is written from nothing (governance.published_file.write); every way it holds the same
relations, rows and comments.

A reader that opened the old file keeps reading the old inode until
it reconnects; a new reader sees the new file whole. A build that fails, or is killed at any
point, leaves both files as they were (the standby may be gone, or be the published file: the
next night then copies), except between the two replaces: then the published file
is the new night and the state the night before, and the next night simply builds that night
again from the older state (a night is idempotent). Work files left behind are removed by the
next build.

One build per published file at a time: a lock file next to it (``<name>.lock``) is held for
the whole build, by the build and by every dbt process it starts (they inherit the locked
descriptor, governance.warehouse.run_dbt and start_dbt, and die with the build). A build killed
alone therefore keeps the lock until its dbt processes have exited too: the next one refuses
until then.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import signal
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import yaml

from governance import documented_table, published_file, settings

#: The tables kept by partition, by relation, with their partition columns
#: (governance.published_file.partition_keys).
PartitionKeys = Mapping[str, tuple[str, ...]]

FAULT_ENV = "GOVERNANCE_FAULT_INJECT"

#: The reporting date of a published file (which has no build internals such as
#: intermediate.int_as_of_date): every metric has a row on each day up to it.
REPORTING_DATE_SQL = "select max(metric_date) as as_of_date from metrics.metrics_daily"


class PublishError(RuntimeError):
    """The build could not start or its result could not be published."""


def fault_point(name: str) -> None:
    """Failure drill: `GOVERNANCE_FAULT_INJECT=<name>` kills this process here (SIGKILL), to show
    that an interrupted build leaves the published warehouse intact. No effect otherwise."""
    if os.environ.get(FAULT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def lock_path(published: Path) -> Path:
    return published.with_name(published.name + ".lock")


def wal_path(database: Path) -> Path:
    return database.with_name(database.name + ".wal")


def state_path(published: Path) -> Path:
    """The build's own state beside the published file: ``governance.duckdb`` keeps its state in
    ``governance.state.duckdb``."""
    published = Path(published)
    return published.with_name(f"{published.stem}.state{published.suffix}")


def whole_build(warehouse: Path) -> Path:
    """The file that holds everything a build made: the state beside a published file, or the
    file itself when it has no state beside it (a warehouse dbt built directly)."""
    state = state_path(warehouse)
    return state if state.exists() else Path(warehouse)


def published_schemas() -> tuple[str, ...]:
    """The schemas of the published file, from the dbt var ``published_schemas`` (the one
    place they are listed; dbt_project.yml puts each consumer folder's models there)."""
    project = yaml.safe_load((settings.project_dir() / "dbt_project.yml").read_text())
    return tuple(project["vars"]["published_schemas"])


def work_path(published: Path) -> Path:
    """The work file of a build, hidden, in the published file's directory. Its name is the same
    for every build (the build lock lets one build at a time use it): the path is part of dbt's
    connection profile, and dbt re-parses the whole project when the profile changes."""
    return published.with_name(f".{published.name}.building")


# Descriptors of the build locks this process holds: the dbt processes it starts inherit them.
_held_lock_fds: list[int] = []


def held_lock_fds() -> tuple[int, ...]:
    """The descriptors of the build locks held by this process (for its child processes)."""
    return tuple(_held_lock_fds)


def check_warehouse_dir(published: Path, create: bool = False) -> None:
    """A build writes into an existing folder: a folder that does not exist is created only
    with ``create`` (``--create-warehouse``), so a mistyped path never starts a new warehouse."""
    folder = Path(published).parent
    if folder.is_dir():
        return
    if not create:
        raise PublishError(
            f"no folder {folder} for the warehouse {Path(published).name}: check the path "
            "(--duckdb-path or GOVERNANCE_DUCKDB_PATH), or pass --create-warehouse to start a "
            "new warehouse there"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PublishError(f"cannot create the warehouse folder {folder}: {exc}") from None


@contextlib.contextmanager
def build_lock(published: Path) -> Iterator[None]:
    """Holds the published file's build lock; fails at once if another build, or a process an
    earlier build started, holds it."""
    try:
        published.parent.mkdir(parents=True, exist_ok=True)
        handle = open(lock_path(published), "a+")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise PublishError(
            f"cannot open the build lock {lock_path(published)}: {exc.strerror}"
        ) from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise PublishError(
                f"another build of {published} is running (started by pid {holder}; its dbt "
                f"process may outlive it); wait for it or check {lock_path(published)}"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        _held_lock_fds.append(handle.fileno())
        try:
            yield
        finally:
            _held_lock_fds.remove(handle.fileno())
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def remove_stale_work_files(published: Path) -> list[Path]:
    """Deletes the work files left by interrupted builds. Call under the build lock."""
    removed = []
    for path in sorted(published.parent.glob(f".{published.name}.building*")):
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def _assert_no_wal(published: Path) -> None:
    if wal_path(published).exists():
        raise PublishError(
            f"{wal_path(published)} exists: a process opened the published warehouse for writing. "
            "Readers must open it read-only; stop that process (or remove the file if it is "
            "left from a crash) and run the build again."
        )


def start_work_file(published: Path, incremental: bool) -> Path:
    """A new work file: a copy of the build's state for an incremental build, else empty."""
    work = work_path(published)
    state = state_path(published)
    work.unlink(missing_ok=True)
    wal_path(work).unlink(missing_ok=True)
    if incremental and state.exists():
        _assert_no_wal(state)
        copy_file(state, work)
    return work


COPY_CHUNK_BYTES = 1 << 30


def copy_file(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` (replacing it) with ``os.copy_file_range``: on file systems
    that share blocks between files (XFS, btrfs, bcachefs, OpenZFS 2.2) the kernel clones the
    file in moments instead of copying every byte (the warehouse copy of a large nightly run
    takes about half a minute on ext4, which copies). Where the call is missing or refused
    (another file system, an older kernel), ``shutil.copyfile``."""
    copy_range = getattr(os, "copy_file_range", None)
    if copy_range is not None:
        try:
            with open(source, "rb") as src, open(target, "wb") as dst:
                remaining = os.fstat(src.fileno()).st_size
                while remaining > 0:
                    copied = copy_range(
                        src.fileno(), dst.fileno(), min(remaining, COPY_CHUNK_BYTES)
                    )
                    if copied <= 0:
                        break
                    remaining -= copied
            if remaining == 0:
                return
        except OSError:
            pass
    shutil.copyfile(source, target)


def discard(work: Path) -> None:
    """Removes a failed build's work file and the published file it may have begun."""
    for path in (work, work.with_name(work.name + ".published")):
        path.unlink(missing_ok=True)
        wal_path(path).unlink(missing_ok=True)


def checkpoint(database: Path) -> None:
    """Folds the write-ahead log into the file and closes the connection."""
    con = duckdb.connect(str(database))
    try:
        con.execute("checkpoint")
    finally:
        con.close()
    if wal_path(database).exists():
        raise PublishError(f"{wal_path(database)} is still present after CHECKPOINT")


def _fsync(path: Path, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def bi_work_path(published: Path) -> Path:
    """Where `publish` writes the new published file before it replaces the old one (removed
    with the work files when a build is interrupted)."""
    return work_path(published).with_name(work_path(published).name + ".published")


#: The publication record, one row in the published file and in the state: readers see when the
#: file was published and for which reporting date; a night compares its id in the work file
#: (the state it started from) with the published file's to know that the published file holds
#: exactly what that state published (`publish`).
PUBLICATION = "monitoring.publication"
PUBLICATION_COLUMNS = {
    "publication_id": (
        "varchar",
        "Id of the publish that wrote this file, new at each publish; the build's state beside "
        "the file holds the same record.",
    ),
    "published_at": ("timestamp", "When the file was published, UTC."),
    "as_of_date": (
        "date",
        "Reporting date of the file: every metric has a row on each day up to it.",
    ),
    "built_from_publication_id": (
        "varchar",
        "Id of the publication of the build state this file was built from (the file published "
        "before it, night after night); empty after a full build.",
    ),
}
PUBLICATION_COMMENT = (
    "When this file was published and for which reporting date: one row, written at publish by "
    "governance build and governance nightly."
)


def _reporting_date(con: duckdb.DuckDBPyConnection) -> date | None:
    try:
        return con.execute(REPORTING_DATE_SQL).fetchone()[0]
    except duckdb.CatalogException:  # a file without the metric table
        return None


def publication_id(database: Path) -> str | None:
    """The id of the publication record of ``database``, if it holds one."""
    try:
        with duckdb.connect(str(database), read_only=True) as con:
            row = con.execute(f"select max(publication_id) from {PUBLICATION}").fetchone()
    except duckdb.Error:
        return None
    return row[0]


def renew_publication(database: Path) -> tuple[str, ...]:
    """Replaces the publication record of ``database`` (a work file about to be published) by a
    new one; returns the ids of the earlier publications a published file can be brought up to
    date from (`publish`): the record replaced (the publication of the state the work file
    started from) and the one that state was built from, most recent first; none for a work file
    without a record (a full build)."""
    with duckdb.connect(str(database)) as con:
        try:
            row = con.execute(f"select * from {PUBLICATION}").fetchone()
            columns = [d[0] for d in con.description]
        except duckdb.CatalogException:
            row, columns = None, []
        record = dict(zip(columns, row or (), strict=False))
        documented_table.create_or_replace(
            con, PUBLICATION, PUBLICATION_COLUMNS, PUBLICATION_COMMENT
        )
        started_from = record.get("publication_id")
        con.execute(
            f"insert into {PUBLICATION} values (?, ?, ?, ?)",
            [
                uuid.uuid4().hex,
                datetime.now(UTC).replace(tzinfo=None),
                _reporting_date(con),
                started_from,
            ],
        )
    earlier = (started_from, record.get("built_from_publication_id"))
    return tuple(i for i in earlier if i is not None) if started_from is not None else ()


def _written(target: Path) -> None:
    """A published file just written: checkpointed (no WAL left), fsynced."""
    if wal_path(target).exists():
        raise PublishError(f"{wal_path(target)} is still present after CHECKPOINT")
    _fsync(target)


def write_published_file(
    work: Path, target: Path, schemas: tuple[str, ...] | None = None
) -> published_file.Changes:
    """A new published file at ``target`` holding the relations of the consumer ``schemas`` of
    the (checkpointed) work file, their rows and comments (governance.published_file).
    Checkpointed and fsynced."""
    changes = published_file.write(work, target, schemas or published_schemas())
    _written(target)
    return changes


def standby_path(published: Path) -> Path:
    """The published file before the current one, kept beside it as the next publish's starting
    point: ``governance.duckdb`` keeps it as ``governance.standby.duckdb``."""
    published = Path(published)
    return published.with_name(f"{published.stem}.standby{published.suffix}")


def _writable(database: Path) -> str | None:
    """Why DuckDB cannot open ``database`` for writing (a reader's lock), None when it can."""
    try:
        duckdb.connect(str(database)).close()
    except duckdb.Error as exc:
        holder = re.search(r"\(PID (\d+)\)", str(exc))
        return f"by process {holder[1]}" if holder else str(exc).splitlines()[0][:200]
    return None


def _take_standby(published: Path, target: Path, earlier: tuple[str, ...]) -> str | None:
    """Moves the standby file to ``target`` when it can be brought up to date there; returns why
    not otherwise (the standby is then removed: it would be of no use to a later publish)."""
    standby = standby_path(published)
    if not standby.exists():
        return "no standby file"
    why = None
    if wal_path(standby).exists():
        why = "the standby file has a write-ahead log"
    elif published.exists() and os.path.samefile(standby, published):
        why = "the standby file is the published file (a publish stopped before its replace)"
    elif publication_id(standby) not in earlier:
        why = "the standby file is not of this warehouse's recent publications"
    if why is None:
        os.replace(standby, target)
        why = _writable(target)
        if why is not None:
            why = f"the standby file is open ({why})"
    if why is not None:
        for path in (standby, wal_path(standby), target):
            path.unlink(missing_ok=True)
    return why


def _start_published_file(
    published: Path, target: Path, earlier: tuple[str, ...]
) -> tuple[str, str]:
    """Puts at ``target`` the earlier published file the new one is brought up from; returns how
    (``standby``: the standby file, moved, no copy; ``copy``: a copy of the published file;
    ``nothing``: no file of this warehouse's recent publications, written from nothing) and why
    the standby file was not used, if it was not."""
    if not earlier:
        return "nothing", ""
    not_standby = _take_standby(published, target, earlier)
    if not_standby is None:
        return "standby", ""
    if publication_id(published) in earlier:
        copy_file(published, target)
        return "copy", not_standby
    return "nothing", not_standby


def _keep_standby(published: Path) -> None:
    """The published file about to be replaced becomes the standby: a hard link, no copy. Where
    the file system refuses hard links there is no standby, and the next publish copies."""
    standby = standby_path(published)
    standby.unlink(missing_ok=True)
    wal_path(standby).unlink(missing_ok=True)
    if published.exists():
        with contextlib.suppress(OSError):
            os.link(published, standby)


def publish(
    work: Path, published: Path, keys: Mapping[str, tuple[str, ...]] | None = None
) -> published_file.Changes:
    """Publishes the validated work file: a new published file of its consumer schemas replaces
    the published one, which becomes the standby, then the work file replaces the build's state
    (see the module's doc).

    The new published file starts from an earlier published file of the state the work file
    started from, or of the state before it (their publication ids): the standby file, moved
    (no copy), else a copy of the published file; only what differs is then rewritten. It is
    written from nothing otherwise (a full build, the first one). ``keys``: the partitioned
    tables (governance.published_file.partition_keys)."""
    earlier = renew_publication(work)
    checkpoint(work)
    _fsync(work)
    state = state_path(published)
    _assert_no_wal(published)
    _assert_no_wal(state)
    fresh = bi_work_path(published)
    fresh.unlink(missing_ok=True)
    wal_path(fresh).unlink(missing_ok=True)
    started_from, standby_not_used = _start_published_file(published, fresh, earlier)
    fault_point("after-start")
    if started_from == "nothing":
        changes = published_file.write(work, fresh, published_schemas())
    else:
        changes = published_file.update(work, fresh, published_schemas(), keys or {})
        changes.incremental = True
    changes.started_from, changes.standby_not_used = started_from, standby_not_used
    _written(fresh)
    _keep_standby(published)
    fault_point("before-replace")
    os.replace(fresh, published)
    _fsync(published.parent, directory=True)
    fault_point("between-replaces")
    os.replace(work, state)
    _fsync(published.parent, directory=True)
    return changes


def published_as_of(published: Path) -> date | None:
    """Reporting date of the build the state beside the published file holds
    (intermediate.int_as_of_date), if any."""
    state = state_path(published)
    if not state.exists():
        return None
    try:
        with duckdb.connect(str(state), read_only=True) as con:
            row = con.execute("select max(as_of_date) from intermediate.int_as_of_date").fetchone()
    except duckdb.Error:
        return None
    return row[0] if row else None


def build_and_publish(
    published: Path,
    build: Callable[[Path], object],
    validate: Callable[[Path], None] | None = None,
    incremental: bool = False,
    keys: PartitionKeys | Callable[[object], PartitionKeys] | None = None,
) -> tuple[object, published_file.Changes]:
    """Runs ``build(work_file)`` (and ``validate(work_file)``) on a work file, then publishes it.

    ``build`` raises on failure; nothing is published then. Returns what ``build`` returned and
    what the publish did. ``keys``: the partitioned tables (`publish`), or a function of what
    ``build`` returned that reads them once the build has run (from its dbt manifest).
    `governance build` routes through this (`build_published`).
    """
    published = Path(published)
    with build_lock(published):
        remove_stale_work_files(published)
        work = start_work_file(published, incremental)
        try:
            result = build(work)
            if validate is not None:
                validate(work)
            changes = publish(work, published, keys(result) if callable(keys) else keys)
        except BaseException:
            discard(work)
            raise
    return result, changes


def build_published(
    raw_dir: Path,
    published: Path,
    extra_args: list[str] | None = None,
    target_path: Path | None = None,
    quiet: bool = False,
) -> tuple[Path, published_file.Changes]:
    """`governance build` through the atomic path: a full `dbt build` (raw contract checked
    first) into a work file, published only when every node passed. With `--select`, the work
    file starts as a copy of the published warehouse so the models not selected stay, and the
    selected incremental models are rebuilt in full; the published file is then brought up to
    date by partition where dbt's manifest says a table is kept by partition, as a night's is.
    Returns run_results.json and what the publish did."""
    from governance import build_results
    from governance.warehouse import build, keep_source_test_results

    args = list(extra_args or [])
    partial = "--select" in args or "-s" in args
    if partial and "--full-refresh" not in args:
        args.append("--full-refresh")

    def build_and_record(work: Path) -> Path:
        results = build(raw_dir, work, extra_args=args, target_path=target_path, quiet=quiet)
        build_results.record(work, results)  # what readers of the published file will see
        return results

    def keys_of_build(results: Path) -> PartitionKeys:
        return published_file.partition_keys(Path(results).parent / "manifest.json")

    results, changes = build_and_publish(
        Path(published), build_and_record, incremental=partial, keys=keys_of_build
    )
    keep_source_test_results(results, Path(published), night=None)
    return results, changes
