"""Atomic publication: readers keep a consistent file, a failed or killed build publishes nothing,
one build at a time; the published file holds the consumer schemas, the state beside it the
rest; a build starts from the standby (the published file the publish before it replaced), else
from a copy of the published file, when that file is of its state's two latest publications, and
rewrites only the tables and partitions that changed, to the same contents as a full write."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from governance.publish import (
    FAULT_ENV,
    PUBLICATION_COMMENT,
    PublishError,
    build_and_publish,
    build_lock,
    copy_file,
    publication_id,
    publish,
    published_as_of,
    published_schemas,
    standby_path,
    start_work_file,
    state_path,
    wal_path,
    write_published_file,
)
from governance.published_file import Changes, partition_keys


def _write(db: Path, value: int) -> None:
    """A build: a published table (with a view and comments), and build internals."""
    with duckdb.connect(str(db)) as con:
        con.execute("create schema if not exists intermediate")
        con.execute("create schema if not exists metrics")
        con.execute("create or replace table metrics.t (v integer not null)")
        con.execute("insert into metrics.t values (?)", [value])
        con.execute("create or replace view metrics.t_doubled as select 2 * v as w from metrics.t")
        con.execute("comment on table metrics.t is 'The value of the build.'")
        con.execute("comment on column metrics.t.v is 'The value.'")
        con.execute(
            "create or replace table intermediate.int_as_of_date as "
            "select date '2026-06-01' + cast(? as integer) as as_of_date",
            [value],
        )


def _read_in_new_process(db: Path) -> int:
    code = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
        "print(con.execute('select v from metrics.t').fetchall()[0][0])"
    )
    return int(subprocess.check_output([sys.executable, "-c", code, str(db)], text=True))


@pytest.fixture
def published(tmp_path):
    db = tmp_path / "wh" / "governance.duckdb"
    db.parent.mkdir()
    build_and_publish(db, lambda work: _write(work, 1))
    return db


def test_a_reader_keeps_its_file_and_new_readers_see_the_new_one(published):
    reader = duckdb.connect(str(published), read_only=True)
    build_and_publish(published, lambda work: _write(work, 2))
    assert reader.execute("select v from metrics.t").fetchone()[0] == 1  # the old inode, whole
    reader.close()
    assert _read_in_new_process(published) == 2
    assert published_as_of(published).isoformat() == "2026-06-03"
    assert not wal_path(published).exists()
    assert list(published.parent.glob(".governance.duckdb.building*")) == []


def test_the_published_file_holds_the_consumer_schemas_and_the_state_the_rest(published):
    with duckdb.connect(str(published), read_only=True) as con:
        relations = con.execute(
            "select schema_name, table_name, comment from duckdb_tables() "
            "union all select schema_name, view_name, comment from duckdb_views() "
            "where not internal order by all"
        ).fetchall()
        columns = con.execute(
            "select table_name, column_name, comment, is_nullable from duckdb_columns() "
            "where schema_name = 'metrics' order by all"
        ).fetchall()
        doubled = con.execute("select w from metrics.t_doubled").fetchone()[0]
    assert relations == [
        ("metrics", "t", "The value of the build."),
        ("metrics", "t_doubled", None),
        ("monitoring", "publication", PUBLICATION_COMMENT),
    ]
    assert columns == [("t", "v", "The value.", False), ("t_doubled", "w", None, True)]
    assert doubled == 2
    with duckdb.connect(str(state_path(published)), read_only=True) as con:
        internal = con.execute("select count(*) from intermediate.int_as_of_date").fetchone()[0]
    assert internal == 1 and state_path(published).name == "governance.state.duckdb"
    # The publication record: the same in both files; no metric table here, so no reporting date.
    (record,) = _rows(published, "monitoring.publication")
    assert _rows(state_path(published), "monitoring.publication") == [record]
    publication, published_at, as_of_date, built_from = record
    # A build from an empty work file (the fixture's) is built from no earlier publication.
    assert len(publication) == 32 and as_of_date is None and built_from is None
    assert abs(datetime.now(UTC).replace(tzinfo=None) - published_at) < timedelta(minutes=5)


def test_a_reader_sees_the_consumer_schemas_and_duckdbs_empty_main(published, tmp_path):
    # What a BI tool's schema browser lists (JDBC and ODBC read information_schema.schemata):
    # the published schemas and DuckDB's default schema `main`, which holds nothing...
    with duckdb.connect(str(published), read_only=True) as con:
        schemas = con.execute(
            "select schema_name from information_schema.schemata "
            "where catalog_name = current_database() order by all"
        ).fetchall()
        in_main = con.execute(
            "select count(*) from information_schema.tables "
            "where table_catalog = current_database() and table_schema = 'main'"
        ).fetchone()[0]
    assert [name for (name,) in schemas] == sorted(["main", *published_schemas()])
    assert in_main == 0
    # ...and that no file can be without: DuckDB refuses to drop it (docs/bi.md says so).
    copy = tmp_path / "copy.duckdb"
    copy_file(published, copy)
    with duckdb.connect(str(copy)) as con, pytest.raises(duckdb.Error, match="internal system"):
        con.execute("drop schema main cascade")


def test_a_failed_build_or_validation_publishes_nothing(published):
    before = published.read_bytes()

    def failing_build(work: Path) -> None:
        _write(work, 3)
        raise RuntimeError("dbt build failed")

    with pytest.raises(RuntimeError, match="dbt build failed"):
        build_and_publish(published, failing_build)

    def reject(work: Path) -> None:
        raise RuntimeError("expectation failed")

    with pytest.raises(RuntimeError, match="expectation failed"):
        build_and_publish(published, lambda work: _write(work, 4), validate=reject)
    assert published.read_bytes() == before
    assert list(published.parent.glob(".governance.duckdb.building*")) == []


def test_an_incremental_build_starts_from_a_copy_of_the_state(published):
    work = start_work_file(published, incremental=True)
    state = state_path(published)
    assert work.parent == published.parent and work.read_bytes() == state.read_bytes()
    fresh = start_work_file(published, incremental=False)
    assert not fresh.exists()


def test_only_one_build_at_a_time(published):
    with build_lock(published), pytest.raises(PublishError, match=rf"started by pid {os.getpid()}"):
        build_and_publish(published, lambda work: _write(work, 5))
    build_and_publish(published, lambda work: _write(work, 6))  # the lock was released
    assert _read_in_new_process(published) == 6


def test_a_build_killed_before_the_swap_leaves_the_last_good_warehouse(published):
    before, state = published.read_bytes(), state_path(published).read_bytes()
    assert _killed_build(published, "before-replace", 7) == -signal.SIGKILL
    assert published.read_bytes() == before
    assert state_path(published).read_bytes() == state
    assert _read_in_new_process(published) == 1
    # The work file and the new published file it was writing.
    assert len(list(published.parent.glob(".governance.duckdb.building*"))) == 2
    build_and_publish(published, lambda work: _write(work, 8))  # cleans up, then publishes
    assert list(published.parent.glob(".governance.duckdb.building*")) == []
    assert _read_in_new_process(published) == 8


def _killed_build(published: Path, point: str, value: int, days: dict | None = None) -> int:
    """A build of ``value`` in a new process killed at the fault point; its exit code. With
    ``days``, a night on a copy of the state that also rewrites those days of the orders
    (`_orders_night`)."""
    script = textwrap.dedent(
        """
        import json, sys
        from pathlib import Path
        from governance.publish import build_and_publish
        from test_publish import KEYS, _orders_night, _write

        value, days = int(sys.argv[2]), json.loads(sys.argv[3])
        if days is None:
            build_and_publish(Path(sys.argv[1]), lambda work: _write(work, value))
        else:
            night = _orders_night(value, {int(day): rows for day, rows in days.items()})
            build_and_publish(Path(sys.argv[1]), night, incremental=True, keys=KEYS)
        """
    )
    env = {**os.environ, FAULT_ENV: point, "PYTHONPATH": str(Path(__file__).parent)}
    command = [sys.executable, "-c", script, str(published), str(value), json.dumps(days)]
    return subprocess.run(command, env=env, check=False).returncode


def test_a_build_killed_between_the_two_replaces_leaves_the_state_a_build_behind(published):
    """The published file is the new build, the state the one before: the next build starts
    from that older state and publishes the same warehouse again (a build is idempotent)."""
    assert _killed_build(published, "between-replaces", 7) == -signal.SIGKILL
    assert _read_in_new_process(published) == 7
    assert published_as_of(published).isoformat() == "2026-06-02"  # the state of build 1
    assert len(list(published.parent.glob(".governance.duckdb.building*"))) == 1
    build_and_publish(published, lambda work: _write(work, 7), incremental=True)
    assert _read_in_new_process(published) == 7
    assert published_as_of(published).isoformat() == "2026-06-08"
    assert list(published.parent.glob(".governance.duckdb.building*")) == []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_a_build_killed_alone_holds_the_lock_until_its_child_process_has_exited(
    published, tmp_path
):
    # A build (holding the lock) starts a child process the way it starts dbt; the child takes
    # a moment to exit on SIGTERM, as a process finishing a write would.
    child = (
        "import os, signal, sys, time, pathlib; "
        "signal.signal(signal.SIGTERM, lambda *a: (time.sleep(3), sys.exit(0))); "
        "pathlib.Path(sys.argv[1]).write_text(str(os.getpid())); time.sleep(120)"
    )
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from governance.publish import build_lock
        from governance.warehouse import run_guarded

        with build_lock(Path(sys.argv[1])):
            run_guarded([sys.executable, "-c", sys.argv[3], sys.argv[2]])
        """
    )
    started = tmp_path / "child.pid"
    build = subprocess.Popen([sys.executable, "-c", script, str(published), str(started), child])
    deadline = time.monotonic() + 60
    while not (started.exists() and started.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    child_pid = int(started.read_text())
    os.kill(build.pid, signal.SIGKILL)  # the build alone, not its process group
    build.wait(timeout=30)
    # Its child still runs: a new build must not start beside it.
    assert _alive(child_pid)
    with pytest.raises(PublishError, match="another build"), build_lock(published):
        pass
    # The child dies with the build that started it, and the lock is free again.
    deadline = time.monotonic() + 30
    while _alive(child_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child_pid), "the child outlived its build"
    with build_lock(published):
        pass


def test_a_writer_on_the_published_file_blocks_publication(published):
    wal_path(published).write_bytes(b"")
    with pytest.raises(PublishError, match="opened the published warehouse for writing"):
        build_and_publish(published, lambda work: _write(work, 9))
    wal_path(published).unlink()
    assert _read_in_new_process(published) == 1


def test_governance_build_through_the_publish_path_keeps_the_last_good_file(published, tmp_path):
    from governance.contract import RawContractError
    from governance.publish import build_published

    before = published.read_bytes()
    with pytest.raises(RawContractError, match="does not exist"):
        build_published(tmp_path / "no-raw-here", published, quiet=True)
    assert published.read_bytes() == before
    assert list(published.parent.glob(".governance.duckdb.building*")) == []


def test_the_work_file_copy_is_byte_for_byte_in_chunks_or_through_the_fallback(
    tmp_path, monkeypatch
):
    source, target = tmp_path / "source.bin", tmp_path / "target.bin"
    payload = os.urandom(3 * 1024 + 17)
    source.write_bytes(payload)
    target.write_bytes(b"an older, longer file " * 1000)
    # Several kernel calls: the chunk is smaller than the file.
    monkeypatch.setattr("governance.publish.COPY_CHUNK_BYTES", 1024)
    calls = []
    if hasattr(os, "copy_file_range"):
        real = os.copy_file_range
        monkeypatch.setattr(os, "copy_file_range", lambda *a: calls.append(a[2]) or real(*a))
    copy_file(source, target)
    assert target.read_bytes() == payload
    if hasattr(os, "copy_file_range"):
        assert calls == [1024, 1024, 1024, 17]

    # Refused by the file system: the plain copy does it.
    def refused(*_args):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "copy_file_range", refused, raising=False)
    target.unlink()
    copy_file(source, target)
    assert target.read_bytes() == payload


# --- Publishing what changed -------------------------------------------------------------------

#: The partitioned table of the nights below, as governance.published_file.partition_keys gives it.
KEYS = {"semantic.orders": ("order_day",)}
JUNE = date(2026, 6, 1)


def _orders_night(night: int, days: dict[int, int]):
    """A build of night ``night``: `_write`'s tables, and the orders of ``days`` (day of June:
    number of orders, 0 to empty it) rewritten as dbt's delete+insert by day does, every row
    stamped with the night (``processed_at``)."""
    stamp = datetime(2026, 7, 1) + timedelta(hours=night)

    def build(work: Path) -> None:
        _write(work, night)
        with duckdb.connect(str(work)) as con:
            con.execute("create schema if not exists semantic")
            con.execute(
                "create table if not exists semantic.orders (order_day date not null, "
                "order_no integer, amount double, processed_at timestamp)"
            )
            con.execute("comment on table semantic.orders is 'One row per order.'")
            for day, rows in days.items():
                order_day = JUNE + timedelta(days=day - 1)
                con.execute("delete from semantic.orders where order_day = ?", [order_day])
                con.execute(
                    "insert into semantic.orders select ?, range, range * ?, ? from range(?)",
                    [order_day, night, stamp, rows],
                )

    return build


def _night(published: Path, build, incremental: bool = True) -> Changes:
    """A night in this process: a work file (a copy of the state when ``incremental``), the
    build, then the publish; what the publish did."""
    work = start_work_file(published, incremental)
    build(work)
    return publish(work, published, KEYS)


def _rows(db: Path, relation: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(f"select * from {relation} order by all").fetchall()


def _contents(db: Path) -> dict:
    """Everything a reader of a published file sees: relations with their DDL and comment,
    columns with theirs, every table's rows."""
    with duckdb.connect(str(db), read_only=True) as con:
        relations = con.execute(
            "select schema_name, table_name, sql, comment from duckdb_tables() union all "
            "select schema_name, view_name, sql, comment from duckdb_views() where not internal "
            "order by all"
        ).fetchall()
        columns = con.execute(
            "select schema_name, table_name, column_name, comment from duckdb_columns() "
            "order by all"
        ).fetchall()
        tables = con.execute("select schema_name, table_name from duckdb_tables()").fetchall()
    rows = {f"{s}.{t}": _rows(db, f'"{s}"."{t}"') for s, t in tables}
    return {"relations": relations, "columns": columns, "rows": rows}


def _as_written_in_full(published: Path, tmp_path: Path) -> dict:
    """The contents of a published file written from nothing from the state it was published
    with."""
    reference = tmp_path / f"reference-{time.monotonic_ns()}.duckdb"
    write_published_file(state_path(published), reference)
    return _contents(reference)


def _orders_by_day(db: Path) -> dict[int, tuple[int, int]]:
    """Day of June: (orders, the night that wrote them)."""
    rows = _rows(
        db,
        "(select order_day, count(*), max(processed_at) from semantic.orders group by all)",
    )
    return {
        (day - JUNE).days + 1: (n, (stamp - datetime(2026, 7, 1)).seconds // 3600)
        for day, n, stamp in rows
    }


@pytest.fixture
def nightly(tmp_path):
    """A published warehouse whose first night (a full build) wrote orders on June 1 to 4."""
    db = tmp_path / "wh" / "governance.duckdb"
    db.parent.mkdir()
    first = _night(db, _orders_night(1, {1: 3, 2: 2, 3: 4, 4: 1}), incremental=False)
    assert not first.incremental and "semantic.orders" in first.tables_rewritten
    return db


def test_a_night_rewrites_the_partitions_it_changed_to_what_a_full_write_gives(nightly, tmp_path):
    # Day 2 rewritten, day 3 emptied, day 5 added; days 1 and 4 left as they were. And a
    # comment changed, one removed.
    def night_2(work: Path) -> None:
        _orders_night(2, {2: 5, 3: 0, 5: 2})(work)
        with duckdb.connect(str(work)) as con:
            con.execute("comment on table semantic.orders is 'One row per completed order.'")
            con.execute("comment on column metrics.t.v is null")

    changes = _night(nightly, night_2)
    assert changes.incremental
    assert changes.partitions_rewritten == {"semantic.orders": 3}
    assert sorted(changes.tables_rewritten) == [
        "metrics.t",
        "monitoring.publication",
    ]
    assert changes.tables_dropped == []
    assert _orders_by_day(nightly) == {1: (3, 1), 2: (5, 2), 4: (1, 1), 5: (2, 2)}
    assert _contents(nightly) == _as_written_in_full(nightly, tmp_path)
    comments = {r[:2]: r[3] for r in _contents(nightly)["relations"]}
    assert comments["semantic", "orders"] == "One row per completed order."
    # A night that rewrote no day rewrites no partition: from a copy of the published file...
    standby_path(nightly).unlink()
    assert _night(nightly, _orders_night(3, {})).partitions_rewritten == {"semantic.orders": 0}
    assert _contents(nightly) == _as_written_in_full(nightly, tmp_path)
    # ...and from the standby (night 2's file), those night 3 rewrote: none.
    again = _night(nightly, _orders_night(4, {}))
    assert again.started_from == "standby" and again.partitions_rewritten == {"semantic.orders": 0}
    assert _contents(nightly) == _as_written_in_full(nightly, tmp_path)


def test_a_table_whose_columns_changed_or_that_disappeared_is_rewritten_or_dropped(
    nightly, tmp_path
):
    def night_2(work: Path) -> None:
        _orders_night(2, {2: 1})(work)
        with duckdb.connect(str(work)) as con:
            con.execute("alter table semantic.orders add column channel varchar")
            con.execute("drop view metrics.t_doubled")
            con.execute("create table semantic.extra as select 1 as x")

    changes = _night(nightly, night_2)
    assert "semantic.orders" in changes.tables_rewritten and not changes.partitions_rewritten
    assert _contents(nightly) == _as_written_in_full(nightly, tmp_path)

    def night_3(work: Path) -> None:
        _orders_night(3, {})(work)
        with duckdb.connect(str(work)) as con:
            con.execute("drop table semantic.extra")

    standby_path(nightly).unlink()  # from a copy of night 2's file, which holds the table
    changes = _night(nightly, night_3)
    assert changes.started_from == "copy" and changes.tables_dropped == ["semantic.extra"]
    assert _contents(nightly) == _as_written_in_full(nightly, tmp_path)
    assert "semantic.extra" not in _contents(nightly)["rows"]


def test_a_published_file_of_another_lineage_is_written_from_nothing(nightly, tmp_path):
    night_1 = tmp_path / "night-1.duckdb"
    copy_file(nightly, night_1)
    assert _night(nightly, _orders_night(2, {2: 1})).incremental
    # A full build starts from an empty work file: nothing to copy from.
    full = _night(nightly, _orders_night(3, {1: 1, 2: 1}), incremental=False)
    assert not full.incremental
    assert _night(nightly, _orders_night(4, {2: 2})).incremental
    # A published file put back from an earlier night holds what that night published, not
    # what the state did: written from nothing, to the state's contents.
    copy_file(night_1, nightly)
    assert publication_id(nightly) != publication_id(state_path(nightly))
    standby_path(nightly).unlink()  # (night 3's file, which night 5 could start from)
    changes = _night(nightly, _orders_night(5, {}))
    assert not changes.incremental and changes.standby_not_used == "no standby file"
    assert _orders_by_day(nightly) == {1: (1, 3), 2: (2, 4)}
    assert _contents(nightly) == _as_written_in_full(nightly, tmp_path)


def test_a_night_killed_between_the_replaces_is_published_again_from_the_standby(nightly, tmp_path):
    state = state_path(nightly).read_bytes()
    assert _killed_build(nightly, "between-replaces", 2, {2: 5, 3: 0}) == -signal.SIGKILL
    # The published file is night 2, the state still night 1's: their records differ.
    assert state_path(nightly).read_bytes() == state
    assert _orders_by_day(nightly) == {1: (3, 1), 2: (5, 2), 4: (1, 1)}
    assert publication_id(nightly) != publication_id(state_path(nightly))
    # The rerun builds night 2 again from night 1's state, and the file from the standby: night
    # 1's published file, which the killed night kept.
    rerun = _night(nightly, _orders_night(2, {2: 5, 3: 0}))
    assert rerun.started_from == "standby"
    assert _orders_by_day(nightly) == {1: (3, 1), 2: (5, 2), 4: (1, 1)}
    assert _contents(nightly) == _as_written_in_full(nightly, tmp_path)
    # The standby is now the killed night's file, of no publication the state knows: the next
    # night copies the published file.
    after = _night(nightly, _orders_night(3, {4: 2}))
    assert after.started_from == "copy" and "not of this warehouse" in after.standby_not_used
    assert after.partitions_rewritten == {"semantic.orders": 1}
    assert _contents(nightly) == _as_written_in_full(nightly, tmp_path)


def test_partitioned_tables_are_the_delete_insert_models_of_the_manifest(tmp_path):
    def model(name, schema, **config):
        return {"resource_type": "model", "name": name, "schema": schema, "config": config}

    nodes = {
        "a": model(
            "fct_orders",
            "semantic",
            materialized="incremental",
            incremental_strategy="delete+insert",
            unique_key="ordered_date",
        ),
        "b": model(
            "base_orders",
            "staging",
            materialized="incremental",
            incremental_strategy="delete+insert",
            unique_key=["file", "row"],
        ),
        "c": model("fct_appeals", "semantic", materialized="table"),
        "d": model(
            "fct_merged",
            "semantic",
            materialized="incremental",
            incremental_strategy="merge",
            unique_key="id",
        ),
    }
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"nodes": nodes}))
    assert partition_keys(manifest) == {
        "semantic.fct_orders": ("ordered_date",),
        "staging.base_orders": ("file", "row"),
    }
    # No manifest: no partitioned table, every table is rewritten whole.
    assert partition_keys(tmp_path / "missing.json") == {}


def test_a_selective_governance_build_updates_the_tables_kept_by_partition_by_partition(
    built, tmp_path
):
    """`governance build --select` publishes what dbt's manifest says is kept by partition as a
    night does: an order fact it did not select keeps every partition instead of being copied
    again whole."""
    from governance.publish import build_published

    published = tmp_path / "governance.duckdb"
    copy_file(built["published"], published)
    copy_file(built["db"], state_path(published))
    _, changes = build_published(
        built["raw"],
        published,
        extra_args=["--select", "int_as_of_date"],
        target_path=tmp_path / "target",
        quiet=True,
    )
    assert changes.incremental
    assert changes.partitions_rewritten["semantic.fct_completed_orders"] == 0
    assert "semantic.fct_completed_orders" not in changes.tables_rewritten
    assert "metrics.metrics_daily" in changes.tables_rewritten


# --- Starting from the standby file ------------------------------------------------------------


def test_nights_start_from_the_standby_and_catch_what_either_night_changed(nightly, tmp_path):
    """The standby is two nights old: a night brings it up to date with what it and the night
    before changed, to what a full write gives."""

    def night_2(work: Path) -> None:  # day 2 rewritten, day 3 emptied, day 5 added; a new table
        _orders_night(2, {2: 5, 3: 0, 5: 2})(work)
        with duckdb.connect(str(work)) as con:
            con.execute("create table semantic.extra as select 1 as x")
            con.execute("comment on table semantic.orders is 'One row per completed order.'")

    assert _night(nightly, night_2).standby_not_used == "no standby file"
    assert standby_path(nightly).exists()
    # Night 3 from night 1's file: day 3 back with as many rows as night 1 gave it, day 6 added.
    third = _night(nightly, _orders_night(3, {3: 4, 6: 1}))
    assert third.started_from == "standby" and not standby_path(nightly).samefile(nightly)
    assert third.partitions_rewritten == {"semantic.orders": 4}  # days 2, 3, 5 and 6
    assert "semantic.extra" in third.tables_rewritten
    assert _orders_by_day(nightly) == {
        1: (3, 1),
        2: (5, 2),
        3: (4, 3),
        4: (1, 1),
        5: (2, 2),
        6: (1, 3),
    }
    assert _contents(nightly) == _as_written_in_full(nightly, tmp_path)
    assert "started from the standby file" in third.summary()

    def night_4(work: Path) -> None:  # from night 2's file: a table gone, new columns
        _orders_night(4, {})(work)
        with duckdb.connect(str(work)) as con:
            con.execute("drop table semantic.extra")
            con.execute("alter table semantic.orders add column channel varchar")

    fourth = _night(nightly, night_4)
    assert fourth.started_from == "standby" and fourth.tables_dropped == ["semantic.extra"]
    assert "semantic.orders" in fourth.tables_rewritten
    assert _contents(nightly) == _as_written_in_full(nightly, tmp_path)


HOLD_OPEN = (
    "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); print('open', "
    "flush=True); sys.stdin.readline(); print(con.execute('select v from metrics.t').fetchone()[0])"
)


def test_a_standby_a_reader_holds_open_is_left_to_it_and_the_published_file_copied(
    nightly, tmp_path
):
    _night(nightly, _orders_night(2, {2: 5}))
    # A reader that opened the published file before night 2 replaced it reads the standby.
    reader = subprocess.Popen(
        [sys.executable, "-c", HOLD_OPEN, str(standby_path(nightly))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "open"
        changes = _night(nightly, _orders_night(3, {4: 2}))
        value, _ = reader.communicate("\n", timeout=60)
    finally:
        reader.kill()
    assert changes.started_from == "copy" and changes.partitions_rewritten == {"semantic.orders": 1}
    assert changes.standby_not_used == f"the standby file is open (by process {reader.pid})"
    assert f"copied from the previous published file ({changes.standby_not_used})" in (
        changes.summary()
    )
    assert int(value) == 1  # the reader kept its file whole
    assert _contents(nightly) == _as_written_in_full(nightly, tmp_path)
    assert _night(nightly, _orders_night(4, {1: 1})).started_from == "standby"
    assert _contents(nightly) == _as_written_in_full(nightly, tmp_path)


def test_a_night_killed_with_the_standby_taken_or_linked_leaves_both_files(nightly, tmp_path):
    _night(nightly, _orders_night(2, {2: 5}))
    # Killed after the standby was taken: none left. Killed after the published file was linked
    # as the standby: the standby is the published file, not used.
    for point, night, not_used in (
        ("after-start", 3, "no standby file"),
        ("before-replace", 4, "the standby file is the published file (a publish stopped before"),
    ):
        published, state = nightly.read_bytes(), state_path(nightly).read_bytes()
        assert _killed_build(nightly, point, night, {3: night}) == -signal.SIGKILL
        assert nightly.read_bytes() == published and state_path(nightly).read_bytes() == state
        rerun = _night(nightly, _orders_night(night, {3: night}))
        assert rerun.started_from == "copy" and rerun.standby_not_used.startswith(not_used)
        assert _contents(nightly) == _as_written_in_full(nightly, tmp_path)
    assert _night(nightly, _orders_night(5, {})).started_from == "standby"
    assert _contents(nightly) == _as_written_in_full(nightly, tmp_path)
