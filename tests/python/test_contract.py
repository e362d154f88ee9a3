"""The raw-data contract checker: every broken rule is reported with table, column and rule."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from governance.cli import main
from governance.contract import RawContractError, assert_raw_dir, check_raw_dir, load_contract


def _write_valid_raw(root: Path) -> None:
    """One empty-but-typed Parquet file per contract table."""
    arrow_types = {
        "varchar": pa.string(),
        "timestamp": pa.timestamp("us"),
        "double": pa.float64(),
        "integer": pa.int32(),
        "boolean": pa.bool_(),
    }
    for table in load_contract():
        schema = pa.schema([(c.name, arrow_types[c.data_type]) for c in table.columns])
        (root / table.name).mkdir(parents=True)
        pq.write_table(schema.empty_table(), root / table.name / "part-0.parquet")


def test_contract_declares_the_eleven_tables_with_typed_columns():
    tables = {t.name: t for t in load_contract()}
    assert sorted(tables) == sorted(
        [
            "sellers",
            "seller_identity_signals",
            "listings",
            "strategies",
            "strategy_changes",
            "strategy_hits",
            "enforcement_actions",
            "appeals",
            "qa_case_checks",
            "orders",
            "complaints",
        ]
    )
    listing_types = {c.name: c.data_type for c in tables["listings"].columns}
    assert listing_types == {
        "listing_id": "varchar",
        "seller_id": "varchar",
        "created_at": "timestamp",
        "category": "varchar",
        "title": "varchar",
        "price_usd": "double",
        "image_count": "integer",
        "description_length": "integer",
    }


def test_valid_layout_has_no_violations(tmp_path):
    _write_valid_raw(tmp_path)
    assert check_raw_dir(tmp_path) == []


def test_missing_column_wrong_type_and_empty_folder_are_each_named(tmp_path):
    _write_valid_raw(tmp_path)
    pq.write_table(
        pa.table({"listing_id": ["L1"], "price_usd": ["12.50"]}),
        tmp_path / "listings" / "part-1.parquet",
    )
    (tmp_path / "appeals" / "part-0.parquet").unlink()

    messages = [str(v) for v in check_raw_dir(tmp_path)]

    assert (
        "raw table 'listings', column 'price_usd': has type string in part-1.parquet "
        "(rule: type double)" in messages
    )
    assert (
        "raw table 'listings', column 'seller_id': missing in part-1.parquet "
        "(rule: required column)" in messages
    )
    assert any(
        m.startswith("raw table 'appeals': no Parquet files")
        and m.endswith("(rule: table folder holds at least one .parquet file)")
        for m in messages
    )
    with pytest.raises(RawContractError, match="contract violation"):
        assert_raw_dir(tmp_path)


def test_unreadable_file_is_reported_not_raised(tmp_path):
    _write_valid_raw(tmp_path)
    (tmp_path / "orders" / "broken.parquet").write_bytes(b"not parquet at all")
    messages = [str(v) for v in check_raw_dir(tmp_path)]
    assert len(messages) == 1
    assert messages[0].startswith("raw table 'orders': cannot read")
    assert messages[0].endswith("(rule: readable Parquet)")


def test_a_time_zone_aware_timestamp_meets_the_contract(tmp_path):
    # It names an instant: staging converts it to UTC (tests/python/test_raw_read.py).
    _write_valid_raw(tmp_path)
    pq.write_table(
        pa.table(
            {
                "seller_id": pa.array([], pa.string()),
                "signal_type": pa.array([], pa.string()),
                "signal_value": pa.array([], pa.string()),
                "observed_at": pa.array([], pa.timestamp("us", tz="Asia/Singapore")),
            }
        ),
        tmp_path / "seller_identity_signals" / "part-0.parquet",
    )
    assert check_raw_dir(tmp_path) == []


def test_cli_check_raw_exits_2_with_the_violations(tmp_path, capsys):
    _write_valid_raw(tmp_path)
    (tmp_path / "complaints" / "part-0.parquet").unlink()
    assert main(["check-raw", "--raw-dir", str(tmp_path)]) == 2
    out = capsys.readouterr().out
    assert "raw table 'complaints': no Parquet files" in out
    assert "Traceback" not in out
