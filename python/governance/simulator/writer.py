"""Parquet output: the raw data contract and the ground-truth files."""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

TS = pa.timestamp("us")
S = pa.string()
F = pa.float64()
I = pa.int32()  # noqa: E741
B = pa.bool_()

RAW_SCHEMAS: dict[str, pa.Schema] = {
    "sellers": pa.schema(
        [
            ("seller_id", S),
            ("registered_at", TS),
            ("onboarded_at", TS),
            ("region", S),
            ("seller_type", S),
            ("primary_category", S),
            ("legal_name", S),
            ("email", S),
            ("phone", S),
        ]
    ),
    "seller_identity_signals": pa.schema(
        [
            ("seller_id", S),
            ("signal_type", S),
            ("signal_value", S),
            ("observed_at", TS),
        ]
    ),
    "listings": pa.schema(
        [
            ("listing_id", S),
            ("seller_id", S),
            ("created_at", TS),
            ("category", S),
            ("title", S),
            ("price_usd", F),
            ("image_count", I),
            ("description_length", I),
        ]
    ),
    "strategies": pa.schema(
        [
            ("strategy_id", S),
            ("strategy_name", S),
            ("strategy_type", S),
            ("policy_code", S),
            ("target_type", S),
            ("launched_at", TS),
            ("retired_at", TS),
        ]
    ),
    "strategy_changes": pa.schema(
        [
            ("change_id", S),
            ("strategy_id", S),
            ("changed_at", TS),
            ("change_type", S),
            ("description", S),
        ]
    ),
    "strategy_hits": pa.schema(
        [
            ("hit_id", S),
            ("strategy_id", S),
            ("target_type", S),
            ("target_id", S),
            ("hit_at", TS),
            ("risk_score", F),
        ]
    ),
    "enforcement_actions": pa.schema(
        [
            ("action_id", S),
            ("target_type", S),
            ("target_id", S),
            ("action_type", S),
            ("policy_code", S),
            ("strategy_id", S),
            ("acted_at", TS),
        ]
    ),
    "appeals": pa.schema(
        [
            ("appeal_id", S),
            ("action_id", S),
            ("filed_at", TS),
            ("resolved_at", TS),
            ("outcome", S),
        ]
    ),
    "qa_case_checks": pa.schema(
        [
            ("check_id", S),
            ("target_type", S),
            ("target_id", S),
            ("sample_type", S),
            ("strategy_id", S),
            ("checked_at", TS),
            ("is_violation", B),
            ("policy_code", S),
        ]
    ),
    "orders": pa.schema(
        [
            ("order_id", S),
            ("listing_id", S),
            ("seller_id", S),
            ("buyer_id", S),
            ("ordered_at", TS),
            ("gmv_usd", F),
            ("order_status", S),
        ]
    ),
    "complaints": pa.schema(
        [
            ("complaint_id", S),
            ("order_id", S),
            ("listing_id", S),
            ("seller_id", S),
            ("created_at", TS),
            ("reason", S),
        ]
    ),
}

RAW_TABLES = tuple(RAW_SCHEMAS)

TRUTH_SCHEMAS: dict[str, pa.Schema] = {
    "sellers": pa.schema(
        [
            ("seller_id", S),
            ("is_bad", B),
            ("bad_type", S),
            ("ring_id", S),
            ("caught_at_onboarding", B),
            ("is_attacker", B),
            ("hub_kinds", S),
        ]
    ),
    "listings": pa.schema(
        [
            ("listing_id", S),
            ("is_violating", B),
            ("true_policy_code", S),
            ("is_low_quality", B),
            ("is_attack", B),
            ("is_mix_shift_extra", B),
        ]
    ),
    "rings": pa.schema(
        [
            ("ring_id", S),
            ("size", I),
            ("region", S),
            ("primary_category", S),
            ("shared_signal_types", S),
            ("first_registered_at", TS),
            ("last_registered_at", TS),
            ("is_attack_ring", B),
            ("shape", S),
            ("touches_hub", B),
            # Strengths: days between the first and last member's registration (for a rotation
            # chain, its whole span), and the share of the ring's member-value assignments
            # left out (missing-value noise).
            ("adoption_spread_days", F),
            ("missing_share", F),
        ]
    ),
    "hubs": pa.schema(
        [
            ("signal_type", S),
            ("signal_value", S),
            ("hub_kind", S),
            ("n_sellers", I),
            ("region", S),
        ]
    ),
    # One row per seller holding an innocently shared value (hub_kind as in `hubs`).
    "innocent_sharing": pa.schema(
        [
            ("signal_type", S),
            ("signal_value", S),
            ("hub_kind", S),
            ("seller_id", S),
        ]
    ),
    "incidents": pa.schema(
        [
            ("incident_id", S),
            ("incident_type", S),
            ("metric_name", S),
            ("region", S),
            ("category", S),
            ("start_date", pa.date32()),
            ("end_date", pa.date32()),
            ("direction", S),
            ("strategy_id", S),
            ("change_id", S),
            ("description", S),
            ("shape", S),
            ("is_consequence", pa.bool_()),
            ("target_strength", pa.float64()),
        ]
    ),
    "strategy_truth": pa.schema(
        [
            ("strategy_id", S),
            ("strategy_name", S),
            ("policy_code", S),
            ("target_type", S),
            ("is_shadow", B),
            ("recall_setting", F),
            ("fp_rate_setting", F),
            ("threshold_setting", F),
            ("act_probability", F),
            ("realised_precision", F),
            ("realised_recall", F),
            ("n_hits", pa.int64()),
        ]
    ),
    "late_arrivals": pa.schema(
        [
            ("table_name", S),
            ("id", S),
            ("event_at", TS),
            ("arrives_at", TS),
        ]
    ),
    "missing_actions": pa.schema(
        [
            ("action_id", S),
            ("target_type", S),
            ("target_id", S),
            ("action_type", S),
            ("policy_code", S),
            ("strategy_id", S),
            ("acted_at", TS),
            ("reason", S),
        ]
    ),
    "action_truth": pa.schema(
        [
            ("action_id", S),
            ("is_false_positive", B),
            ("source", S),
        ]
    ),
}


def prepare_dirs(raw_dir: Path, truth_dir: Path) -> None:
    raw_dir.mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(parents=True, exist_ok=True)
    for table in RAW_TABLES:
        d = raw_dir / table
        d.mkdir(parents=True, exist_ok=True)
        for f in sorted(d.glob("*.parquet")):
            f.unlink()
    for f in sorted(truth_dir.glob("*.parquet")):
        f.unlink()


def make_table(columns: dict, schema: pa.Schema) -> pa.Table:
    arrays = []
    for fld in schema:
        col = columns[fld.name]
        if not isinstance(col, pa.Array | pa.ChunkedArray):
            col = pa.array(col, type=fld.type)
        elif col.type != fld.type:
            col = col.cast(fld.type)
        arrays.append(col)
    return pa.Table.from_arrays(arrays, schema=schema)


def write(table: pa.Table, path: Path) -> None:
    pq.write_table(table, path, compression="zstd", row_group_size=1_000_000)


class RawWriter:
    """Writes raw tables and keeps row counts for the manifest.

    Files are written by one background thread (parquet encoding releases the GIL) while the
    next chunk is generated; at most ``max_pending`` tables wait in memory. File contents do
    not depend on the threading.
    """

    def __init__(self, raw_dir: Path, max_pending: int = 2):
        self.raw_dir = raw_dir
        self.rows: dict[str, int] = dict.fromkeys(RAW_TABLES, 0)
        self.files: dict[str, int] = dict.fromkeys(RAW_TABLES, 0)
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._pending: deque[Future] = deque()
        self._max_pending = max_pending

    def write(self, table_name: str, columns: dict, part: str = "part-000") -> None:
        t = make_table(columns, RAW_SCHEMAS[table_name])
        while len(self._pending) >= self._max_pending:
            self._pending.popleft().result()
        path = self.raw_dir / table_name / f"{part}.parquet"
        self._pending.append(self._pool.submit(write, t, path))
        self.rows[table_name] += t.num_rows
        self.files[table_name] += 1

    def write_empty(self, table_name: str) -> None:
        schema = RAW_SCHEMAS[table_name]
        self.write(table_name, {f.name: pa.array([], f.type) for f in schema})

    def close(self) -> None:
        try:
            while self._pending:
                self._pending.popleft().result()
        finally:
            self._pool.shutdown(wait=True)

    def __enter__(self) -> RawWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_truth(truth_dir: Path, name: str, columns: dict) -> int:
    t = make_table(columns, TRUTH_SCHEMAS[name])
    write(t, truth_dir / f"{name}.parquet")
    return t.num_rows
