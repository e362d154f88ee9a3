"""Bad input on purpose: corrupts a raw folder the way real feeds break.

Each kind writes one extra Parquet file into one table folder (or, for ``empty_table_folder``,
empties a folder), built from the first rows of the table, and says which quarantine rule staging
must apply to the rows. Used by the tests of the quarantine and by on-call drills:

    governance corrupt --kind negative_amount --raw-dir /tmp/raw --night 2026-06-28

The file is named ``<night>-corrupt-<kind>.parquet`` (or ``corrupt-<kind>.parquet`` without a
night), so its rows arrive that night.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .writer import RAW_SCHEMAS

PRIMARY_KEYS = {
    "sellers": "seller_id",
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
    "strategy_changes": "changed_at",
    "strategy_hits": "hit_at",
    "enforcement_actions": "acted_at",
    "appeals": "filed_at",
    "qa_case_checks": "checked_at",
    "orders": "ordered_at",
    "complaints": "created_at",
}
# kind -> (default table, {table: column the kind breaks})
KINDS: dict[str, tuple[str, dict[str, str]]] = {
    "null_primary_key": ("orders", {t: k for t, k in PRIMARY_KEYS.items()}),
    "duplicate_primary_key": ("listings", {t: k for t, k in PRIMARY_KEYS.items()}),
    "orphan_foreign_key": (
        "orders",
        {
            "orders": "listing_id",
            "listings": "seller_id",
            "complaints": "order_id",
            "appeals": "action_id",
            "strategy_hits": "strategy_id",
            "seller_identity_signals": "seller_id",
        },
    ),
    "unknown_code": (
        "sellers",
        {
            "sellers": "region",
            "listings": "category",
            "enforcement_actions": "action_type",
            "strategies": "policy_code",
            "seller_identity_signals": "signal_type",
        },
    ),
    "timestamp_in_future": ("enforcement_actions", dict(EVENT_TIME)),
    "timestamp_before_launch": ("strategy_hits", dict(EVENT_TIME)),
    "negative_amount": ("listings", {"listings": "price_usd", "orders": "gmv_usd"}),
    "resolved_before_filed": ("appeals", {"appeals": "resolved_at"}),
    "unparseable_value": ("qa_case_checks", dict(EVENT_TIME)),
    "missing_column": ("orders", {"orders": "gmv_usd", "enforcement_actions": "strategy_id"}),
    "empty_table_folder": ("complaints", {t: "" for t in RAW_SCHEMAS}),
}
# What staging does with the corrupted rows: (disposition, rule); for duplicates the *older*
# versions are superseded and the new ones staged.
EXPECTED_RULE = {
    "null_primary_key": ("quarantined", "null_primary_key"),
    "duplicate_primary_key": ("superseded", "duplicate_superseded"),
    "orphan_foreign_key": ("quarantined", "orphan_foreign_key"),
    "unknown_code": ("quarantined", "unknown_code"),
    "timestamp_in_future": ("quarantined", "timestamp_in_future"),
    "timestamp_before_launch": ("quarantined", "timestamp_before_launch"),
    "negative_amount": ("quarantined", "negative_amount"),
    "resolved_before_filed": ("quarantined", "resolved_before_filed"),
    "unparseable_value": ("quarantined", "unparseable_value"),
    "missing_column": ("quarantined", "file_breaks_contract"),
    "empty_table_folder": ("blocked", "table folder holds at least one .parquet file"),
}
UNKNOWN_CODE = {
    "region": "XX",
    "category": "weapons",
    "action_type": "shadow_ban",
    "policy_code": "unknown_policy",
    "signal_type": "retina_scan",
}


@dataclass(frozen=True)
class Corruption:
    kind: str
    table: str
    column: str
    file: str | None
    rows: int
    disposition: str
    rule: str

    def describe(self) -> str:
        where = f"{self.table}/{self.file}" if self.file else f"{self.table}/"
        if self.disposition == "blocked":
            return f"{self.kind}: emptied {where}; the nightly pre-check stops the night"
        return (
            f"{self.kind}: wrote {self.rows} row(s) to {where}; expected: {self.disposition} "
            f"({self.rule}) on column '{self.column}'"
        )


def _sample(raw_dir: Path, table: str, n: int) -> pa.Table:
    files = [f for f in sorted((raw_dir / table).glob("*.parquet")) if "corrupt-" not in f.name]
    if not files:
        raise ValueError(f"raw table '{table}' has no Parquet files in {raw_dir / table}")
    data = pa.concat_tables(pq.read_table(f, schema=RAW_SCHEMAS[table]) for f in files)
    key = PRIMARY_KEYS.get(table) or EVENT_TIME[table]
    data = data.filter(pc.is_valid(data.column(key)))
    data = data.take(pc.sort_indices(data, sort_keys=[(key, "ascending")]))
    return data.slice(0, n)


def _set(table: pa.Table, column: str, values) -> pa.Table:
    i = table.schema.get_field_index(column)
    field = table.schema.field(i)
    array = values if isinstance(values, pa.Array) else pa.array(values, field.type)
    return table.set_column(i, field, array.cast(field.type))


def _new_keys(table: pa.Table, table_name: str, kind: str) -> pa.Table:
    key = PRIMARY_KEYS.get(table_name)
    if key is None:
        return table
    ids = [f"X{kind[:3].upper()}{i:04d}-{v}" for i, v in enumerate(table.column(key).to_pylist())]
    return _set(table, key, ids)


def corrupt(
    raw_dir: str | Path,
    kind: str,
    table: str | None = None,
    rows: int = 5,
    night: str | None = None,
) -> Corruption:
    """Applies one kind of corruption to a raw folder; returns what staging must do with it."""
    if kind not in KINDS:
        raise ValueError(f"unknown corruption kind {kind!r}; expected one of {sorted(KINDS)}")
    default_table, columns = KINDS[kind]
    table = table or default_table
    if table not in columns:
        raise ValueError(f"corruption {kind!r} applies to tables {sorted(columns)}, not {table!r}")
    column = columns[table]
    raw_dir = Path(raw_dir)
    disposition, rule = EXPECTED_RULE[kind]
    if kind == "empty_table_folder":
        for f in sorted((raw_dir / table).glob("*.parquet")):
            f.unlink()
        return Corruption(kind, table, column, None, 0, disposition, rule)

    night_day = date.fromisoformat(night) if night else None
    data = _sample(raw_dir, table, rows)
    if kind != "duplicate_primary_key":
        data = _new_keys(data, table, kind)
    n = data.num_rows
    if kind == "null_primary_key":
        data = _set(data, column, pa.nulls(n, pa.string()))
    elif kind == "duplicate_primary_key":
        # A later version of existing records: same keys, one value changed.
        changed = {
            "listings": ("price_usd", lambda c: pc.multiply(c, 2.0)),
            "orders": ("gmv_usd", lambda c: pc.multiply(c, 2.0)),
            "sellers": ("region", lambda c: c),
        }.get(table)
        if changed:
            name, fn = changed
            data = _set(data, name, fn(data.column(name).combine_chunks()))
    elif kind == "orphan_foreign_key":
        data = _set(data, column, [f"MISSING-{i:04d}" for i in range(n)])
    elif kind == "unknown_code":
        data = _set(data, column, [UNKNOWN_CODE[column]] * n)
    elif kind == "timestamp_in_future":
        base = night_day or date.today()
        future = datetime.combine(base + timedelta(days=30), datetime.min.time())
        data = _set(data, column, pa.array([future] * n, pa.timestamp("us")))
    elif kind == "timestamp_before_launch":
        data = _set(data, column, pa.array([datetime(2001, 1, 1)] * n, pa.timestamp("us")))
    elif kind == "negative_amount":
        amounts = pc.abs(data.column(column).combine_chunks()).fill_null(0.0)
        data = _set(data, column, pc.negate(pc.add(amounts, 1.0)))
    elif kind == "resolved_before_filed":
        filed = data.column("filed_at").combine_chunks()
        data = _set(data, "resolved_at", pc.subtract(filed, pa.scalar(timedelta(days=1))))
        data = _set(data, "outcome", ["upheld"] * n)
    elif kind == "unparseable_value":
        i = data.schema.get_field_index(column)
        data = data.set_column(i, column, pa.array(["not a timestamp"] * n, pa.string()))
    elif kind == "missing_column":
        data = data.drop_columns([column])
    name = f"{night}-corrupt-{kind}.parquet" if night else f"corrupt-{kind}.parquet"
    pq.write_table(data, raw_dir / table / name)
    return Corruption(kind, table, column, name, n, disposition, rule)
