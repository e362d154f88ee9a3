"""Trained risk models kept in the registry: scoring with a stored model, the model in force on
a day, and when (and why) a build retrains."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import sklearn
from test_risk import FAST, make_features

from governance.detection.risk import RiskParams, score, train, train_and_score
from governance.detection.risk_features import feature_columns_read, risk_feature_frame
from governance.detection.risk_registry import (
    REGISTRY_COLUMNS,
    load_model,
    model_in_force,
    no_new_model,
    registry_row,
    retrain_reason,
    training_fingerprint,
)

INPUT_COLUMNS = ["seller_id", "onboarded_at", "complaint_rate", "n_listings"]


@pytest.fixture(scope="module")
def trained():
    return train(make_features(), FAST)


def _row(trained_on: str, fingerprint: str | None = None, **changes) -> dict:
    return {
        "model_id": f"m_{trained_on}",
        "trained_on": pd.Timestamp(trained_on),
        "training_fingerprint": fingerprint or training_fingerprint(FAST),
        "sklearn_version": sklearn.__version__,
        "input_columns": json.dumps(sorted(INPUT_COLUMNS)),
        **changes,
    }


def test_a_stored_model_scores_later_data_as_the_model_it_was():
    df = make_features()
    trained = train(df, FAST)
    row = registry_row(trained, "2026-06-30", "no model yet", INPUT_COLUMNS, FAST)
    assert list(row.columns) == list(REGISTRY_COLUMNS)
    record = row.iloc[0]
    assert record["model_id"] == f"{trained.model_version}_trained_20260630"
    assert record["trained_on"] == pd.Timestamp("2026-06-30").date()
    assert record["n_train"] == trained.report["n_train"] and row["n_train"].dtype == "Int64"
    assert record["roc_auc"] == pytest.approx(trained.report["roc_auc"])
    assert json.loads(record["features"]) == list(trained.features)
    assert list(json.loads(record["feature_importance"]))[0] == "complaint_rate"

    # The same data scored by the stored model gives what train_and_score gives.
    stored = load_model(record["model_pickle"])
    pd.testing.assert_frame_equal(score(df, stored, FAST), train_and_score(df, FAST)[0])
    # Later data (other sellers, no labels) is scored with the stored cut-off and version.
    later = make_features(n=500, seed=11).drop(columns="label")
    later["onboarded_at"] = later["onboarded_at"] + pd.Timedelta(days=400)
    scores = score(later, stored, FAST)
    assert scores["is_out_of_time"].all()
    assert set(scores["model_version"]) == {trained.model_version}
    assert len(scores) == 500


def test_a_build_that_trains_nothing_writes_columns_typed_as_a_trained_row(trained):
    # The types of an empty build's columns decide those of a column it appends to an older
    # registry: they must be those of a trained row (an untyped column would become INTEGER).
    row = registry_row(trained, "2026-06-30", "no model yet", INPUT_COLUMNS, FAST)
    empty = no_new_model()
    assert empty.empty and list(empty.columns) == list(REGISTRY_COLUMNS)
    assert empty.dtypes.to_dict() == row.dtypes.to_dict()
    assert str(row["trained_on"].dtype) == "date32[day][pyarrow]"
    assert str(row["warnings"].dtype) == "string"


def test_scoring_without_a_column_the_model_needs_names_it(trained):
    later = make_features(n=100, seed=12).drop(columns="noise_a")
    with pytest.raises(ValueError, match=r"risk model hgb_v2_\d{8} needs: \['noise_a'\]"):
        score(later, trained, FAST)


def test_a_stored_value_that_is_not_a_model_is_refused():
    import base64
    import pickle

    text = base64.b64encode(pickle.dumps({"not": "a model"})).decode()
    with pytest.raises(ValueError, match="model_pickle holds a dict"):
        load_model(text)


def test_the_model_in_force_is_the_latest_trained_on_or_before_the_day():
    registry = pd.DataFrame([_row("2026-06-01"), _row("2026-06-08"), _row("2026-06-15")]).sample(
        frac=1.0, random_state=1
    )
    assert model_in_force(registry, "2026-06-10")["model_id"] == "m_2026-06-08"
    assert model_in_force(registry, pd.Timestamp("2026-06-15"))["model_id"] == "m_2026-06-15"
    assert model_in_force(registry, "2026-07-30")["model_id"] == "m_2026-06-15"
    # A build reproducing an earlier day never uses a model that saw later data.
    assert model_in_force(registry, "2026-05-31") is None
    assert model_in_force(registry.iloc[0:0], "2026-06-10") is None


@pytest.mark.parametrize(
    ("in_force", "as_of", "columns", "params", "days", "reason"),
    [
        (None, "2026-06-30", INPUT_COLUMNS, FAST, 7, "no model trained on or before 2026-06-30"),
        (_row("2026-06-29"), "2026-06-30", INPUT_COLUMNS, FAST, 7, None),
        (_row("2026-06-24"), "2026-06-30", INPUT_COLUMNS, FAST, 7, None),
        (
            _row("2026-06-23"),
            "2026-06-30",
            INPUT_COLUMNS,
            FAST,
            "7",
            "the model trained on 2026-06-23 is 7 days old (retrained every 7)",
        ),
        (
            _row("2026-06-29"),
            "2026-06-30",
            INPUT_COLUMNS,
            FAST,
            0,
            "risk_retrain_days is 0: a new model every build",
        ),
        (
            _row("2026-06-29"),
            "2026-06-30",
            INPUT_COLUMNS,
            RiskParams(max_iter=61),
            7,
            "the training parameters or the model format changed",
        ),
        (
            _row("2026-06-29", sklearn_version="0.1"),
            "2026-06-30",
            INPUT_COLUMNS,
            FAST,
            7,
            f"scikit-learn changed from 0.1 to {sklearn.__version__}",
        ),
        (
            _row("2026-06-29"),
            "2026-06-30",
            [*INPUT_COLUMNS[:-1], "n_refunds"],
            FAST,
            7,
            "the feature table's columns changed (added ['n_refunds'], removed ['n_listings'])",
        ),
    ],
)
def test_when_and_why_a_build_retrains(in_force, as_of, columns, params, days, reason):
    assert retrain_reason(in_force, as_of, columns, params, days) == reason


def test_scoring_only_settings_do_not_retrain():
    in_force = _row("2026-06-29")
    scoring_only = RiskParams(
        max_iter=60, explain_max_rows=10, band_thresholds=(0.1, 0.2, 0.3), n_threads=1
    )
    assert retrain_reason(in_force, "2026-06-30", INPUT_COLUMNS, scoring_only, 7) is None


@pytest.mark.parametrize("days", [-1, "x", "1.5", True])
def test_a_bad_retrain_cadence_is_a_clear_error(days):
    with pytest.raises(ValueError, match="var risk_retrain_days must be a whole number of days"):
        retrain_reason(None, "2026-06-30", INPUT_COLUMNS, FAST, days)


def test_category_indicators_a_stored_model_knows_are_zeros_when_no_seller_has_them():
    features = pd.DataFrame(
        {
            "seller_id": ["S1", "S2"],
            "onboarded_at": pd.to_datetime(["2026-01-01", "2026-02-01"]),
            "is_label_mature": [True, False],
            "is_confirmed_bad": [True, False],
            "region": ["EU", "EU"],
            "primary_category": ["toys", "books"],
            "seller_type": ["business", "individual"],
            "complaint_rate": [0.3, 0.0],
        }
    )
    memberships = pd.DataFrame(
        columns=["seller_id", "syndicate_id", "membership_strength", "n_links"]
    )
    syndicates = pd.DataFrame(columns=["syndicate_id", "size"])
    known = ("complaint_rate", "region_EU", "region_US", "primary_category_toys")
    frame = risk_feature_frame(features, memberships, syndicates, model_features=known)
    assert frame["region_US"].tolist() == [0.0, 0.0]
    assert frame["region_EU"].tolist() == [1.0, 1.0]
    # A category the model never saw stays a column of the frame; the model ignores it.
    assert frame["primary_category_books"].tolist() == [0.0, 1.0]
    assert frame["label"].tolist()[0] is True and pd.isna(frame["label"].tolist()[1])


def test_scoring_reads_only_the_columns_of_seller_features_the_model_and_frame_need():
    columns = ["seller_id", "region", "onboarded_at", "registered_at", "n_warnings"]
    columns += ["is_label_mature", "is_confirmed_bad", "complaint_rate", "n_orders"]
    known = ("complaint_rate", "region_EU")
    assert feature_columns_read(columns, known) == [
        "seller_id",
        "region",
        "onboarded_at",
        "is_label_mature",
        "is_confirmed_bad",
        "complaint_rate",
    ]
    # Training (no model yet) reads every column.
    assert feature_columns_read(columns) is None
