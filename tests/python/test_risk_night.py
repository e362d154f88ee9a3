"""Incremental risk scores on DuckDB: a night writes the sellers whose row can change, and the
table it leaves is the one scoring every seller gives."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from governance.detection.risk import SCORE_COLUMNS, RiskParams, score, train
from governance.detection.risk_features import (
    MEMBERSHIP_COLUMNS,
    SCORED_SELLERS,
    risk_feature_frame,
)
from governance.detection.risk_night import FINGERPRINT_COLUMN, input_fingerprints, rows_to_write

PARAMS = RiskParams(max_iter=30, min_samples_leaf=10, cutoff="2030-01-01", explain_max_rows=60)
AS_OF = pd.Timestamp("2026-03-01")
MACRO = Path(__file__).parents[2] / "macros" / "incremental" / "risk_scores.sql"


def _sellers(n: int = 400, seed: int = 0, as_of: pd.Timestamp = AS_OF) -> dict:
    """seller_features, seller_syndicates and syndicates as the warehouse has them."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 200, n)
    complaints = rng.poisson(2, n)
    features = pd.DataFrame(
        {
            "seller_id": [f"S{i:04d}" for i in range(n)],
            "region": rng.choice(["EU", "US"], n),
            "primary_category": rng.choice(["toys", "books"], n),
            "seller_type": "business",
            "onboarded_at": as_of - pd.to_timedelta(tenure, unit="D"),
            "tenure_days": tenure,
            "n_complaints": complaints,
            "n_listings": rng.poisson(20, n),
            "is_label_mature": True,
            "is_confirmed_bad": (complaints >= 4) ^ (rng.random(n) < 0.05),
        }
    )
    in_ring = rng.random(n) < 0.1
    memberships = pd.DataFrame(
        {
            "seller_id": features["seller_id"],
            "syndicate_id": np.where(in_ring, "R1", None),
            "membership_strength": np.where(in_ring, 0.8, np.nan),
            "n_links": np.where(in_ring, 3, 0),
        }
    )
    syndicates = pd.DataFrame({"syndicate_id": ["R1"], "size": [int(in_ring.sum())]})
    return {"features": features, "memberships": memberships, "syndicates": syndicates}


def _frame(tables: dict) -> pd.DataFrame:
    return risk_feature_frame(
        tables["features"], tables["memberships"][MEMBERSHIP_COLUMNS], tables["syndicates"]
    )


@pytest.fixture(scope="module")
def trained():
    return train(_frame(_sellers()), PARAMS)


def _next_night(tables: dict) -> dict:
    """A night later: every seller a day older."""
    features = tables["features"].assign(tenure_days=tables["features"]["tenure_days"] + 1)
    return {**tables, "features": features}


class Warehouse:
    """The model's tables in a DuckDB database, and builds as dbt runs them: delete+insert by
    seller_id (or the first build's create), then the post-hook's delete."""

    def __init__(self):
        self.con = duckdb.connect()
        self.written: pd.DataFrame | None = None

    def build(self, tables: dict, trained, params: RiskParams = PARAMS, model_id="m1"):
        for name, frame in tables.items():
            self.con.register(f"{name}_frame", frame)
            self.con.execute(f"create or replace table {name} as select * from {name}_frame")
            self.con.unregister(f"{name}_frame")
        exists = self.con.execute(
            "select count(*) from information_schema.tables where table_name = 'scores'"
        ).fetchall()[0][0]
        previous = self.con.sql("select * from scores") if exists else None
        rows = rows_to_write(
            self.con,
            self.con.table("features"),
            self.con.table("memberships"),
            self.con.table("syndicates"),
            previous,
            trained,
            params,
            model_id,
        )
        self.con.register("written_rows", rows)
        if exists:
            self.con.execute(
                "delete from scores where seller_id in (select seller_id from written_rows)"
            )
            self.con.execute("insert into scores by name select * from written_rows")
            self.con.execute(
                "delete from scores where seller_id not in "
                f"(select seller_id from features where {SCORED_SELLERS})"
            )
        else:
            self.con.execute("create table scores as select * from written_rows")
        self.con.unregister("written_rows")
        self.written = rows.to_pandas()
        return self

    def table(self) -> pd.DataFrame:
        scores = self.con.execute("select * from scores order by seller_id").df()
        return scores.reset_index(drop=True)


def _everyone(tables: dict, trained, params: RiskParams = PARAMS, model_id="m1") -> pd.DataFrame:
    """The table a first build of ``tables`` writes: every seller scored."""
    return Warehouse().build(tables, trained, params, model_id).table()


def _assert_as_scoring_everyone(warehouse: Warehouse, tables: dict, trained, **kwargs) -> None:
    table = warehouse.table()
    expected = score(_frame(tables), trained, kwargs.get("params", PARAMS), model_id="m1")
    pd.testing.assert_frame_equal(
        table[SCORE_COLUMNS], expected, check_dtype=False, check_exact=True
    )
    pd.testing.assert_frame_equal(table, _everyone(tables, trained, **kwargs), check_exact=True)


def test_a_night_writes_the_sellers_whose_inputs_changed_and_equals_scoring_everyone(trained):
    night_1 = _sellers()
    warehouse = Warehouse().build(night_1, trained)
    assert len(warehouse.written) == 400
    night_2 = _next_night(night_1)
    features, memberships = night_2["features"].copy(), night_2["memberships"].copy()
    # New complaints for three sellers, one seller joins the ring, two new sellers, two
    # sellers gone, one seller whose onboarding time is withdrawn.
    features.loc[[1, 2, 3], "n_complaints"] += 5
    joiner = memberships.index[memberships["syndicate_id"].isna()][0]
    memberships.loc[joiner, ["syndicate_id", "membership_strength", "n_links"]] = ["R1", 0.9, 2]
    new = _sellers(2, seed=5)["features"].assign(seller_id=["N0", "N1"])
    features = pd.concat([features.drop(index=[10, 11]), new], ignore_index=True)
    features.loc[features["seller_id"] == "S0012", "onboarded_at"] = pd.NaT
    new_members = pd.DataFrame({"seller_id": ["N0", "N1"], "n_links": [0, 0]})
    memberships = pd.concat([memberships, new_members], ignore_index=True)
    night_2 = {**night_2, "features": features, "memberships": memberships}

    warehouse.build(night_2, trained)
    _assert_as_scoring_everyone(warehouse, night_2, trained)
    written = set(warehouse.written["seller_id"])
    changed = {"S0001", "S0002", "S0003", memberships.loc[joiner, "seller_id"], "N0", "N1"}
    assert changed <= written
    # The others written are those whose tenure entered a new band, or whose place moved
    # across the explained top: a few, not everyone.
    assert len(written) < 100
    table = warehouse.table()
    assert not {"S0010", "S0011", "S0012"} & set(table["seller_id"])


def test_a_night_with_nothing_new_writes_nothing(trained):
    night_1 = _sellers()
    warehouse = Warehouse().build(night_1, trained)
    before = warehouse.table()
    warehouse.build(night_1, trained)
    assert len(warehouse.written) == 0
    assert list(warehouse.written.columns) == [*SCORE_COLUMNS, FINGERPRINT_COLUMN]
    pd.testing.assert_frame_equal(warehouse.table(), before, check_exact=True)


def test_sellers_whose_place_moves_across_the_explained_top_are_written_again(trained):
    night_1 = _sellers()
    warehouse = Warehouse().build(night_1, trained)
    table = warehouse.table()
    explained = table[table["top_features"].notna()]
    assert len(explained) == PARAMS.explain_max_rows
    # The highest-scored seller loses every complaint: its score falls out of the top, and
    # the best of the unexplained sellers enters it.
    top = explained.sort_values(["risk_score", "seller_id"], ascending=[False, True])
    first = top["seller_id"].iloc[0]
    night_2 = {**night_1, "features": night_1["features"].copy()}
    night_2["features"].loc[night_2["features"]["seller_id"] == first, "n_complaints"] = 0
    warehouse.build(night_2, trained)
    _assert_as_scoring_everyone(warehouse, night_2, trained)
    after = warehouse.table()
    entered = set(after[after["top_features"].notna()]["seller_id"]) - set(explained["seller_id"])
    assert entered and entered <= set(warehouse.written["seller_id"])
    assert first in set(warehouse.written["seller_id"])


def test_a_new_model_or_new_bands_write_every_seller_again(trained):
    night_1 = _sellers()
    warehouse = Warehouse().build(night_1, trained)
    warehouse.build(night_1, trained, model_id="m2")
    assert len(warehouse.written) == 400
    assert set(warehouse.table()["model_input_key"].str.split("/").str[0]) == {"m2"}
    bands = replace(PARAMS, band_thresholds=(0.1, 0.4, 0.9))
    warehouse.build(night_1, trained, params=bands, model_id="m2")
    assert len(warehouse.written) == 400
    pd.testing.assert_frame_equal(
        warehouse.table(), _everyone(night_1, trained, bands, "m2"), check_exact=True
    )


def test_a_table_written_before_the_fingerprint_is_scored_again_whole(trained):
    night_1 = _sellers()
    warehouse = Warehouse().build(night_1, trained)
    warehouse.con.execute(f"alter table scores drop column {FINGERPRINT_COLUMN}")
    warehouse.con.execute(f"alter table scores add column {FINGERPRINT_COLUMN} bigint")
    warehouse.build(night_1, trained)
    assert len(warehouse.written) == 400


def _fingerprints(tables: dict, trained) -> pd.Series:
    con = duckdb.connect()
    relations = {name: con.from_df(frame) for name, frame in tables.items()}
    fingerprints = input_fingerprints(
        con, *relations.values(), model_features=trained.features, settings="s"
    )
    return fingerprints.df().set_index("seller_id")[FINGERPRINT_COLUMN]


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("features", "region", "APAC"),
        ("features", "primary_category", "garden"),
        ("features", "onboarded_at", pd.Timestamp("2025-01-01")),
        ("features", "n_complaints", 99),
        ("features", "tenure_days", 1000),
        ("memberships", "syndicate_id", "R2"),
        ("memberships", "membership_strength", 0.1),
        ("memberships", "n_links", 7),
    ],
)
def test_every_input_the_frame_reads_is_in_the_fingerprint(trained, table, column, value):
    tables = _sellers()
    before = _fingerprints(tables, trained)
    changed = tables[table].copy()
    changed.loc[0, column] = value
    after = _fingerprints({**tables, table: changed}, trained)
    assert after.iloc[0] != before.iloc[0]
    assert (after.iloc[1:] == before.iloc[1:]).all()


def test_what_the_score_does_not_depend_on_is_not_in_the_fingerprint(trained):
    tables = _sellers()
    before = _fingerprints(tables, trained)
    features = tables["features"].copy()
    # The label, and a day of tenure within a band (20 to 21 days: band 4).
    features["is_confirmed_bad"] = ~features["is_confirmed_bad"]
    features.loc[0, "tenure_days"] = 20
    before_day = _fingerprints({**tables, "features": features}, trained)
    features.loc[0, "tenure_days"] = 21
    after = _fingerprints({**tables, "features": features}, trained)
    assert (after == before_day).all()
    assert (before_day.iloc[1:] == before.iloc[1:]).all()


def test_the_post_hook_deletes_the_sellers_the_frame_does_not_score():
    assert f"features.{SCORED_SELLERS}" in MACRO.read_text()
