"""Atomic publication: readers keep a consistent file, a failed or killed build publishes nothing,
one build at a time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from governance.publish import (
    FAULT_ENV,
    PublishError,
    build_and_publish,
    build_lock,
    copy_file,
    published_as_of,
    start_work_file,
    wal_path,
)


def _write(db: Path, value: int) -> None:
    with duckdb.connect(str(db)) as con:
        con.execute("create schema if not exists intermediate")
        con.execute("create or replace table main.t as select ? as v", [value])
        con.execute(
            "create or replace table intermediate.int_as_of_date as "
            "select date '2026-06-01' + cast(? as integer) as as_of_date",
            [value],
        )


def _read_in_new_process(db: Path) -> int:
    code = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
        "print(con.execute('select v from t').fetchall()[0][0])"
    )
    return int(subprocess.check_output([sys.executable, "-c", code, str(db)], text=True))


@pytest.fixture
def published(tmp_path):
    db = tmp_path / "wh" / "governance.duckdb"
    db.parent.mkdir()
    _write(db, 1)
    return db


def test_a_reader_keeps_its_file_and_new_readers_see_the_new_one(published):
    reader = duckdb.connect(str(published), read_only=True)
    build_and_publish(published, lambda work: _write(work, 2))
    assert reader.execute("select v from t").fetchone()[0] == 1  # the old inode, whole
    reader.close()
    assert _read_in_new_process(published) == 2
    assert published_as_of(published).isoformat() == "2026-06-03"
    assert not wal_path(published).exists()
    assert list(published.parent.glob(".governance.duckdb.building*")) == []


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


def test_an_incremental_build_starts_from_a_copy_of_the_published_file(published):
    work = start_work_file(published, incremental=True)
    assert work.parent == published.parent and work.read_bytes() == published.read_bytes()
    fresh = start_work_file(published, incremental=False)
    assert not fresh.exists()


def test_only_one_build_at_a_time(published):
    with build_lock(published), pytest.raises(PublishError, match=rf"started by pid {os.getpid()}"):
        build_and_publish(published, lambda work: _write(work, 5))
    build_and_publish(published, lambda work: _write(work, 6))  # the lock was released
    assert _read_in_new_process(published) == 6


def test_a_build_killed_before_the_swap_leaves_the_last_good_warehouse(published):
    before = published.read_bytes()
    script = textwrap.dedent(
        """
        import sys, duckdb
        from pathlib import Path
        from governance.publish import build_and_publish

        def build(work):
            with duckdb.connect(str(work)) as con:
                con.execute("create table t as select 7 as v")

        build_and_publish(Path(sys.argv[1]), build)
        """
    )
    env = {**os.environ, FAULT_ENV: "before-replace"}
    done = subprocess.run([sys.executable, "-c", script, str(published)], env=env)
    assert done.returncode == -signal.SIGKILL
    assert published.read_bytes() == before
    assert _read_in_new_process(published) == 1
    assert len(list(published.parent.glob(".governance.duckdb.building*"))) == 1
    build_and_publish(published, lambda work: _write(work, 8))  # cleans up, then publishes
    assert list(published.parent.glob(".governance.duckdb.building*")) == []
    assert _read_in_new_process(published) == 8


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
