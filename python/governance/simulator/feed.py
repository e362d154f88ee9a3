"""A nightly feed over one simulated marketplace.

``generate_with_holdback`` simulates the whole span once, writes into the raw folders only what
had arrived by the night before the last ``holdback_days`` days (one ``initial-load-<night>``
file per table) and keeps the rest in the truth folder. Each ``advance_day`` then appends the
next night's arrivals as ``<table>/<YYYY-MM-DD>.parquet``:

* events arrive when they happen, or later for the late arrivals listed in the ground truth
  (``late_arrivals.parquet``: 1 to 3 days late);
* records that change arrive once per version, the newer version superseding the older: a seller
  at registration then again when onboarded, an appeal when filed then again when decided, a
  strategy at launch then again at retirement;
* the last night also delivers every row still in flight (late arrivals due after the span).

After every held-back night has been advanced, the latest version of every record in the raw
folders equals one ``generate`` of the same span (same scale, seed, end date and days).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .core import generate
from .writer import RAW_SCHEMAS, RAW_TABLES

FEED_DIR = "feed"
STATE_FILE = "state.json"
INITIAL_LOAD_PREFIX = "initial-load-"  # the files of a first delivery: initial-load-<night>...
NIGHT_COLUMN = "_arrival_night"
SEQ_COLUMN = "_version"

PRIMARY_KEYS = {
    "sellers": "seller_id",
    "seller_identity_signals": None,  # an event log: every row is its own record
    "listings": "listing_id",
    "strategies": "strategy_id",
    "strategy_changes": "change_id",
    "strategy_hits": "hit_id",
    "enforcement_actions": "action_id",
    "appeals": "appeal_id",
    "qa_case_checks": "check_id",
    "orders": "order_id",
    "complaints": "complaint_id",
}
EVENT_TIME = {
    "sellers": "registered_at",
    "seller_identity_signals": "observed_at",
    "listings": "created_at",
    "strategies": "launched_at",
    "strategy_changes": "changed_at",
    "strategy_hits": "hit_at",
    "enforcement_actions": "acted_at",
    "appeals": "filed_at",
    "qa_case_checks": "checked_at",
    "orders": "ordered_at",
    "complaints": "created_at",
}
# Records delivered twice: first without these columns, then complete once the first column is set.
LATER_VERSION = {
    "sellers": ("onboarded_at",),
    "appeals": ("resolved_at", "outcome"),
    "strategies": ("retired_at",),
}


class FeedError(RuntimeError):
    """The raw folder has no held-back days to deliver (or no feed at all)."""


@dataclass(frozen=True)
class NightDelivery:
    night: str
    rows: dict[str, int]
    remaining_nights: int


def _feed_dir(truth_dir: Path) -> Path:
    return Path(truth_dir) / FEED_DIR


def feed_state(truth_dir: str | Path) -> dict | None:
    """The feed's state (next night, last night, ...) or None when there is no feed."""
    path = _feed_dir(Path(truth_dir)) / STATE_FILE
    return json.loads(path.read_text()) if path.exists() else None


def _day(ts: pa.Array) -> pa.Array:
    """Night of each timestamp; rows without one (never expected) go to the initial load."""
    nights = pc.cast(pc.floor_temporal(ts, unit="day"), pa.date32())
    return nights.fill_null(pa.scalar(date(1970, 1, 1), pa.date32()))


def _versions(table_name: str, table: pa.Table, late: dict[str, pa.Table]) -> pa.Table:
    """Every version of every row of one raw table, with the night it arrives."""
    key = PRIMARY_KEYS[table_name]
    arrives = table.column(EVENT_TIME[table_name]).combine_chunks()
    late_rows = late.get(table_name)
    if late_rows is not None and late_rows.num_rows and key is not None:
        ids = table.column(key).combine_chunks()
        index = pc.index_in(ids, value_set=late_rows.column("id").combine_chunks())
        late_at = late_rows.column("arrives_at").combine_chunks().take(index)
        arrives = pc.if_else(pc.is_valid(index), late_at, arrives)
    first = table.append_column(NIGHT_COLUMN, _day(arrives)).append_column(
        SEQ_COLUMN, pa.array([0] * table.num_rows, pa.int8())
    )
    if table_name not in LATER_VERSION:
        return first
    update_columns = LATER_VERSION[table_name]
    changed = pc.is_valid(table.column(update_columns[0]))
    blanked = first
    for column in update_columns:
        i = blanked.schema.get_field_index(column)
        nulls = pa.nulls(table.num_rows, blanked.schema.field(i).type)
        blanked = blanked.set_column(
            i, column, pc.if_else(changed, nulls, blanked.column(i).combine_chunks())
        )
    update_at = table.column(update_columns[0]).combine_chunks()
    later_at = pc.max_element_wise(update_at, arrives)
    second = (
        first.set_column(first.schema.get_field_index(NIGHT_COLUMN), NIGHT_COLUMN, _day(later_at))
        .set_column(
            first.schema.get_field_index(SEQ_COLUMN),
            SEQ_COLUMN,
            pa.array([1] * table.num_rows, pa.int8()),
        )
        .filter(changed)
    )
    return pa.concat_tables([blanked, second])


def _latest_per_key(table_name: str, versions: pa.Table) -> pa.Table:
    """Keeps, per record, only its latest version (latest night, then latest version)."""
    key = PRIMARY_KEYS[table_name]
    if key is None or versions.num_rows == 0:
        return versions
    order = pc.sort_indices(
        versions,
        sort_keys=[(key, "ascending"), (NIGHT_COLUMN, "descending"), (SEQ_COLUMN, "descending")],
    )
    ranked = versions.take(order)
    keys = ranked.column(key).combine_chunks()
    first = pc.not_equal(keys.slice(1), keys.slice(0, len(keys) - 1))
    keep = pa.concat_arrays([pa.array([True]), first.fill_null(True)]) if len(keys) else first
    latest = ranked.filter(keep)
    # Back to arrival order, so files read like an export of the night.
    return latest.take(
        pc.sort_indices(latest, sort_keys=[(NIGHT_COLUMN, "ascending"), (SEQ_COLUMN, "ascending")])
    )


def _write_raw(raw_dir: Path, table_name: str, rows: pa.Table, file_name: str) -> int:
    out = rows.drop_columns([NIGHT_COLUMN, SEQ_COLUMN]).cast(RAW_SCHEMAS[table_name])
    if out.num_rows == 0:
        return 0
    folder = raw_dir / table_name
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(out, folder / file_name, compression="zstd")
    return out.num_rows


def generate_with_holdback(
    raw_dir: str | Path,
    truth_dir: str | Path,
    holdback_days: int,
    scale: str = "small",
    seed: int = 42,
    end_date: str | None = None,
    days: int | None = None,
) -> dict:
    """Simulate a marketplace and deliver all but its last ``holdback_days`` nights.

    Returns the simulator manifest with a ``feed`` entry (first and last held-back night).
    """
    raw_dir, truth_dir = Path(raw_dir), Path(truth_dir)
    if holdback_days < 1:
        raise ValueError("holdback_days must be at least 1")
    feed_dir = _feed_dir(truth_dir)
    if feed_dir.exists():
        shutil.rmtree(feed_dir)
    with tempfile.TemporaryDirectory(prefix="governance-feed-") as tmp:
        full_raw = Path(tmp) / "raw"
        manifest = generate(
            full_raw, truth_dir, scale=scale, seed=seed, end_date=end_date, days=days
        )
        span_days = (
            date.fromisoformat(manifest["end_date"]) - date.fromisoformat(manifest["start_date"])
        ).days + 1
        if holdback_days >= span_days:
            raise ValueError(f"holdback_days must be below the {span_days} simulated days")
        late_table = pq.read_table(truth_dir / "late_arrivals.parquet")
        late = {
            name: late_table.filter(pc.equal(late_table.column("table_name"), name))
            for name in RAW_TABLES
        }
        (feed_dir / "versions").mkdir(parents=True, exist_ok=True)
        for table_name in RAW_TABLES:
            table = pq.read_table(full_raw / table_name, schema=RAW_SCHEMAS[table_name])
            pq.write_table(
                _versions(table_name, table, late), feed_dir / "versions" / f"{table_name}.parquet"
            )
    last_night = date.fromisoformat(manifest["end_date"])
    first_night = last_night - timedelta(days=holdback_days - 1)
    initial_night = first_night - timedelta(days=1)
    for table_name in RAW_TABLES:
        folder = raw_dir / table_name
        folder.mkdir(parents=True, exist_ok=True)
        for old in sorted(folder.glob("*.parquet")):
            old.unlink()
        versions = pq.read_table(feed_dir / "versions" / f"{table_name}.parquet")
        arrived = versions.filter(
            pc.less(versions.column(NIGHT_COLUMN), pa.scalar(first_night, pa.date32()))
        )
        _write_raw(
            raw_dir,
            table_name,
            _latest_per_key(table_name, arrived),
            f"{INITIAL_LOAD_PREFIX}{initial_night.isoformat()}.parquet",
        )
    state = {
        "scale": scale,
        "seed": int(seed),
        "start_date": manifest["start_date"],
        "end_date": manifest["end_date"],
        "initial_night": initial_night.isoformat(),
        "next_night": first_night.isoformat(),
        "last_night": last_night.isoformat(),
    }
    (feed_dir / STATE_FILE).write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
    manifest["feed"] = state
    return manifest


def advance_day(raw_dir: str | Path, truth_dir: str | Path) -> NightDelivery:
    """Append the next held-back night's arrivals to the raw folders."""
    raw_dir, truth_dir = Path(raw_dir), Path(truth_dir)
    state = feed_state(truth_dir)
    if state is None:
        raise FeedError(
            f"{truth_dir} holds no nightly feed: start one with "
            "`governance feed init --holdback-days N` first "
            "(a plain generation already holds every simulated day)"
        )
    night = date.fromisoformat(state["next_night"])
    last = date.fromisoformat(state["last_night"])
    if night > last:
        raise FeedError(f"every simulated night up to {last} has been delivered")
    feed_dir = _feed_dir(truth_dir)
    night_scalar = pa.scalar(night, pa.date32())
    rows = {}
    for table_name in RAW_TABLES:
        versions = pq.read_table(feed_dir / "versions" / f"{table_name}.parquet")
        nights = versions.column(NIGHT_COLUMN)
        due = (
            pc.greater_equal(nights, night_scalar)
            if night == last
            else pc.equal(nights, night_scalar)
        )
        rows[table_name] = _write_raw(
            raw_dir,
            table_name,
            _latest_per_key(table_name, versions.filter(due)),
            f"{night.isoformat()}.parquet",
        )
    state["next_night"] = (night + timedelta(days=1)).isoformat()
    (feed_dir / STATE_FILE).write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
    return NightDelivery(night.isoformat(), rows, (last - night).days)
