"""The simulated nightly feed: held-back nights delivered one by one, late events included, add up
to exactly one generation of the same span."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from governance.cli import main
from governance.simulator import RAW_TABLES, generate
from governance.simulator.feed import (
    PRIMARY_KEYS,
    FeedError,
    advance_day,
    feed_state,
    generate_with_holdback,
)

SEED = 7
NIGHT = re.compile(r"\d{4}-\d{2}-\d{2}")


def _night_of(path: Path) -> str:
    return NIGHT.search(path.name).group(0)


def _latest_versions(raw: Path, table: str) -> pd.DataFrame:
    """Every raw file of a table, later nights last, keeping each record's latest version."""
    files = sorted((raw / table).glob("*.parquet"), key=_night_of)
    frame = pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)
    key = PRIMARY_KEYS[table]
    return frame.drop_duplicates(key, keep="last") if key else frame


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


@pytest.fixture(scope="module")
def delivered(tmp_path_factory):
    root = tmp_path_factory.mktemp("feed")
    generate_with_holdback(root / "raw", root / "truth", 3, scale="tiny", seed=SEED)
    initial = {t: sorted(p.name for p in (root / "raw" / t).glob("*.parquet")) for t in RAW_TABLES}
    deliveries = [advance_day(root / "raw", root / "truth") for _ in range(3)]
    generate(root / "full_raw", root / "full_truth", scale="tiny", seed=SEED)
    return root, initial, deliveries


def test_advanced_nights_equal_one_generation_of_the_span(delivered):
    root, _, _ = delivered
    for table in RAW_TABLES:
        fed = _latest_versions(root / "raw", table)
        full = pq.read_table(root / "full_raw" / table).to_pandas()
        assert len(fed) == len(full), table
        pd.testing.assert_frame_equal(_sorted(fed), _sorted(full[fed.columns]), obj=table)


def test_the_initial_load_holds_back_the_last_nights(delivered):
    root, initial, deliveries = delivered
    assert initial["orders"] == ["initial-load-2026-06-27.parquet"]
    assert [d.night for d in deliveries] == ["2026-06-28", "2026-06-29", "2026-06-30"]
    assert [d.remaining_nights for d in deliveries] == [2, 1, 0]
    first_night = pq.read_table(root / "raw" / "orders" / "2026-06-28.parquet").to_pandas()
    assert first_night["ordered_at"].max() < pd.Timestamp("2026-06-29")
    assert deliveries[0].rows["orders"] == len(first_night) > 100


def test_late_events_arrive_on_their_arrival_night(delivered):
    root, _, _ = delivered
    late = pq.read_table(root / "truth" / "late_arrivals.parquet").to_pandas()
    due = late[
        (late.table_name == "orders")
        & (late.arrives_at >= "2026-06-29")
        & (late.arrives_at < "2026-06-30")
    ]
    assert len(due) > 0
    night = pq.read_table(root / "raw" / "orders" / "2026-06-29.parquet").to_pandas()
    assert set(due["id"]) <= set(night["order_id"])
    # ...and not before: the late orders were not in the initial load or the previous night.
    earlier = pd.concat(
        pq.read_table(root / "raw" / "orders" / f).to_pandas()
        for f in ("initial-load-2026-06-27.parquet", "2026-06-28.parquet")
    )
    assert not set(due["id"]) & set(earlier["order_id"])
    assert (night["ordered_at"] < pd.Timestamp("2026-06-29")).any()  # events of earlier days


def test_a_record_that_changes_arrives_again_as_a_newer_version(delivered):
    root, _, _ = delivered
    appeals = {
        f.name: pq.read_table(f).to_pandas() for f in sorted((root / "raw" / "appeals").iterdir())
    }
    first = appeals["initial-load-2026-06-27.parquet"]
    pending = first[first.resolved_at.isna()].set_index("appeal_id")
    later = pd.concat(
        [df for name, df in appeals.items() if name != "initial-load-2026-06-27.parquet"]
    )
    decided = later[later.appeal_id.isin(pending.index) & later.resolved_at.notna()]
    assert len(decided) > 0
    assert (decided.outcome.notna()).all()


def test_the_last_night_cannot_be_advanced_past(delivered):
    root, _, _ = delivered
    assert feed_state(root / "truth")["next_night"] == "2026-07-01"
    with pytest.raises(FeedError, match="every simulated night up to 2026-06-30"):
        advance_day(root / "raw", root / "truth")


def test_advancing_a_plain_generation_is_refused_with_the_way_out(tmp_path, capsys):
    generate(tmp_path / "raw", tmp_path / "truth", scale="tiny", seed=SEED, days=10)
    code = main(
        [
            "feed",
            "advance",
            "--raw-dir",
            str(tmp_path / "raw"),
            "--truth-dir",
            str(tmp_path / "truth"),
        ]
    )
    assert code == 2
    assert (
        "start one with `governance feed init --holdback-days N` first" in capsys.readouterr().err
    )
