"""Seller risk model: out-of-time split, scores, explanations and error handling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from governance.detection import RiskParams, precision_at_k, risk, score, train, train_and_score
from governance.detection.risk import PREVIOUS_COLUMNS, model_view

FAST = RiskParams(max_iter=60, learning_rate=0.1)


def make_features(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """``complaint_rate`` alone decides the label; three noise features; the last month is
    not matured yet."""
    rng = np.random.default_rng(seed)
    onboarded = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.uniform(0, 365, n), unit="D")
    complaint_rate = rng.beta(1.0, 12.0, n)
    df = pd.DataFrame(
        {
            "seller_id": [f"S{i:05d}" for i in range(n)],
            "onboarded_at": onboarded,
            "complaint_rate": complaint_rate,
            "n_listings": rng.poisson(30, n),
            "noise_a": rng.normal(size=n),
            "is_business": rng.random(n) < 0.3,
        }
    )
    flip = rng.random(n) < 0.02
    label = pd.Series((complaint_rate > 0.15) ^ flip, dtype="boolean")
    label[onboarded >= pd.Timestamp("2025-12-01")] = pd.NA
    df["label"] = label
    return df


def test_informative_feature_gives_high_auc_and_explains_high_risk_sellers():
    df = make_features()
    scores, report = train_and_score(df, FAST)
    assert report["roc_auc"] > 0.9
    assert report["average_precision"] > 0.7
    assert report["precision_at_1pct"] >= 0.9
    assert list(report["feature_importance"])[0] == "complaint_rate"
    assert report["features"] == ["complaint_rate", "n_listings", "noise_a", "is_business"]

    assert list(scores.columns) == [
        "seller_id",
        "risk_score",
        "risk_band",
        "model_version",
        "top_features",
        "is_out_of_time",
        "model_input_key",
    ]
    assert len(scores) == len(df)
    assert scores["risk_score"].between(0, 1).all()
    high = scores[scores["risk_band"].isin(["high", "critical"])]
    assert len(high) > 50
    assert high["top_features"].str.startswith("complaint_rate=").mean() > 0.95
    # 'name=value (+contribution); ...' with three entries.
    first = high["top_features"].iloc[0].split("; ")
    assert len(first) == 3
    assert first[0].endswith(")") and " (+" in first[0]
    # Sellers without a label yet are scored too.
    unlabelled = df["label"].isna().to_numpy()
    assert scores.loc[unlabelled, "risk_score"].notna().all()


def test_feature_importance_on_a_sample_of_the_out_of_time_cohort():
    df = make_features()
    full = train_and_score(df, FAST)[1]["feature_importance"]
    sampled_params = RiskParams(max_iter=60, learning_rate=0.1, importance_max_rows=200)
    scores, report = train_and_score(df, sampled_params)
    assert report["n_validation"] > 200
    # Same ranking leader and about the same size on 200 sellers; metrics and scores unchanged.
    assert list(report["feature_importance"])[0] == "complaint_rate"
    assert report["feature_importance"]["complaint_rate"] == pytest.approx(
        full["complaint_rate"], rel=0.35
    )
    assert report["feature_importance"] != full
    pd.testing.assert_frame_equal(scores, train_and_score(df, FAST)[0])


def test_fits_on_a_seeded_sample_when_there_are_more_labelled_sellers_than_train_max_rows():
    df = make_features(n=6000, seed=6)
    full_scores, full = train_and_score(df, FAST)
    capped = RiskParams(max_iter=60, learning_rate=0.1, train_max_rows=1500)
    scores, report = train_and_score(df, capped)
    assert full["n_fit_rows"] == full["n_final_train"] > 1500
    assert report["n_fit_rows"] == 1500
    assert report["n_train"] == full["n_train"]
    # The same seed draws the same sample: scores are reproducible.
    pd.testing.assert_frame_equal(scores, train_and_score(df, capped)[0])
    # A quarter of the sellers still learns the rule; the scores differ from the full fit's.
    assert report["roc_auc"] > 0.9
    assert report["roc_auc"] == pytest.approx(full["roc_auc"], abs=0.03)
    assert not np.allclose(scores["risk_score"], full_scores["risk_score"])


def test_scores_are_deterministic_and_independent_of_row_order():
    df = make_features(seed=1)
    first, report1 = train_and_score(df, FAST)
    second, report2 = train_and_score(df.sample(frac=1.0, random_state=7), FAST)
    pd.testing.assert_frame_equal(first, second)
    assert report1["roc_auc"] == report2["roc_auc"]
    assert first["seller_id"].is_monotonic_increasing


def test_default_cutoff_is_the_70th_percentile_of_labelled_onboarding():
    df = make_features(seed=2)
    scores, report = train_and_score(df, FAST)
    labelled = df[df["label"].notna()]
    cutoff = report["cutoff"]
    assert report["n_train"] == int((labelled["onboarded_at"] < cutoff).sum())
    assert report["n_validation"] == int((labelled["onboarded_at"] >= cutoff).sum())
    share = report["n_train"] / (report["n_train"] + report["n_validation"])
    assert share == pytest.approx(0.7, abs=0.01)
    assert report["model_version"] == f"hgb_v2_{cutoff:%Y%m%d}"
    merged = scores.merge(df[["seller_id", "onboarded_at"]], on="seller_id")
    assert (merged["is_out_of_time"] == (merged["onboarded_at"] >= cutoff)).all()
    assert report["n_final_train"] == len(labelled)


def test_explicit_cutoff_splits_on_dates():
    df = make_features(seed=3)
    scores, report = train_and_score(df, RiskParams(max_iter=30, cutoff="2025-06-01"))
    labelled = df[df["label"].notna()]
    before = labelled["onboarded_at"] < pd.Timestamp("2025-06-01")
    assert report["n_train"] == int(before.sum())
    assert report["n_validation"] == int((~before).sum())
    assert report["cutoff"] == pd.Timestamp("2025-06-01")
    assert scores["model_version"].unique().tolist() == ["hgb_v2_20250601"]
    no_refit = RiskParams(max_iter=30, cutoff="2025-06-01", refit_on_all=False)
    _, report_no_refit = train_and_score(df, no_refit)
    assert report_no_refit["n_final_train"] == report["n_train"]


def test_no_positive_labels_is_a_clear_error():
    df = make_features(n=500, seed=4)
    df["label"] = pd.Series(False, index=df.index, dtype="boolean")
    with pytest.raises(ValueError, match="no positive labels"):
        train_and_score(df, FAST)


def test_training_window_without_positives_is_a_clear_error():
    df = make_features(n=800, seed=5)
    late = df["onboarded_at"] >= pd.Timestamp("2025-10-01")
    df["label"] = pd.Series(late.to_numpy(), dtype="boolean")
    with pytest.raises(ValueError, match="no positive labels .* training window"):
        train_and_score(df, FAST)


def test_invalid_inputs_raise():
    df = make_features(n=300, seed=6)
    with pytest.raises(ValueError, match="missing required columns"):
        train_and_score(df.drop(columns="onboarded_at"), FAST)
    bad = df.assign(label=2.0)
    with pytest.raises(ValueError, match="label must be"):
        train_and_score(bad, FAST)
    with pytest.raises(ValueError, match="no labelled sellers"):
        train_and_score(df.assign(label=None), FAST)
    with pytest.raises(ValueError, match="feature columns not found"):
        train_and_score(df, RiskParams(feature_columns=("nope",)))


def test_labels_as_floats_and_single_class_validation():
    df = make_features(n=1500, seed=8)
    df["label"] = df["label"].astype("Float64")
    late = df["onboarded_at"] >= pd.Timestamp("2025-09-01")
    df.loc[late & df["label"].notna(), "label"] = 0.0
    _, report = train_and_score(df, RiskParams(max_iter=30, cutoff="2025-09-01"))
    assert report["roc_auc"] is None
    assert any("single class" in w for w in report["warnings"])
    assert report["precision_at_5pct"] == 0.0


def test_bands_follow_thresholds():
    df = make_features(seed=9)
    scores, _ = train_and_score(df, RiskParams(max_iter=40, band_thresholds=(0.1, 0.4, 0.9)))
    s = scores["risk_score"]
    expected = np.select([s >= 0.9, s >= 0.4, s >= 0.1], ["critical", "high", "medium"], "low")
    assert (scores["risk_band"] == expected).all()


def test_precision_at_k():
    y = [1, 0, 1, 0, 0, 0, 0, 0, 0, 1]
    s = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.95]
    assert precision_at_k(y, s, 0.2) == 1.0  # top 2: 0.95 (1), 0.9 (1)
    assert precision_at_k(y, s, 0.3) == pytest.approx(2 / 3)
    assert precision_at_k(y, s, 0.4) == pytest.approx(0.75)
    assert precision_at_k(y, s, 0.01) == 1.0  # at least one seller
    assert np.isnan(precision_at_k([], [], 0.1))
    with pytest.raises(ValueError):
        precision_at_k(y, s, 0.0)


def _with_tenure(df: pd.DataFrame, as_of: str) -> pd.DataFrame:
    """``df`` with a clock-driven feature: days since onboarding on ``as_of``."""
    tenure = (pd.Timestamp(as_of) - df["onboarded_at"]).dt.days
    return df.assign(tenure_days=tenure.astype(float))


def _next_day(df: pd.DataFrame, seed: int = 3) -> pd.DataFrame:
    """The next night's features: a day older, 5% of sellers with a new complaint rate, 20
    sellers gone and 30 new ones."""
    rng = np.random.default_rng(seed)
    later = _with_tenure(df, "2026-01-02").iloc[20:].copy()
    moved = rng.random(len(later)) < 0.05
    later.loc[moved, "complaint_rate"] = rng.beta(1.0, 12.0, moved.sum())
    new = _with_tenure(make_features(n=30, seed=seed + 1), "2026-01-02")
    new["seller_id"] = [f"N{i:03d}" for i in range(30)]
    return pd.concat([later, new], ignore_index=True)


class _Counted:
    """Counts the rows handed to risk._contributions (the explanations computed)."""

    def __init__(self, monkeypatch):
        self.rows = 0
        original = risk._contributions

        def counted(model, x, *args, **kwargs):
            self.rows += len(x)
            return original(model, x, *args, **kwargs)

        monkeypatch.setattr(risk, "_contributions", counted)


def test_model_view_tells_apart_only_what_the_trees_split_on():
    x = np.array([[0.0], [1.0], [2.0], [3.0]] * 50)
    y = (x[:, 0] >= 2.0).astype(int)
    model = train(
        pd.DataFrame(
            {
                "seller_id": [f"S{i:03d}" for i in range(len(x))],
                "onboarded_at": pd.Timestamp("2025-01-01"),
                "f": x[:, 0],
                "unused": 1.0,
                "label": y,
            }
        ),
        RiskParams(max_iter=1, max_leaf_nodes=2, min_samples_leaf=1, cutoff="2030-01-01"),
    ).model
    # One tree, one split between 1 and 2: 0 and 1 are one value to it, 2 and 3 another,
    # a missing value a third; the feature it never splits on is 0 whatever its value.
    rows = np.array([[0.0, 5.0], [1.0, -7.0], [2.0, np.nan], [3.0, 1.0], [np.nan, 1.0]])
    view = model_view(model, rows)
    assert view[:, 0].tolist() == [0.0, 0.0, 1.0, 1.0, 2.0]
    assert view[:, 1].tolist() == [0.0] * 5
    proba = model.predict_proba(rows)[:, 1]
    assert proba[0] == proba[1] and proba[2] == proba[3] and proba[0] != proba[2]


# Explains the 100 highest scores only.
FEW = RiskParams(max_iter=60, learning_rate=0.1, explain_max_rows=100)


@pytest.fixture(scope="module")
def tenure_model():
    """Sellers with a tenure on 2026-01-01 and a model trained on them."""
    df = _with_tenure(make_features(seed=4), "2026-01-01")
    return df, train(df, FAST)


def test_scores_kept_from_the_night_before_equal_scoring_everyone_again(monkeypatch, tenure_model):
    df, trained = tenure_model
    night_1 = score(df, trained, FAST, model_id="m1")
    night_2_features = _next_day(df)
    fresh = score(night_2_features, trained, FAST, model_id="m1")
    counted = _Counted(monkeypatch)
    kept = score(night_2_features, trained, FAST, previous=night_1, model_id="m1")
    pd.testing.assert_frame_equal(kept, fresh, check_exact=True)
    # Most sellers kept their model view (a day of tenure crosses few of the model's
    # thresholds) and were not explained again; the changed and the new ones were.
    old = night_1.set_index("seller_id")
    same_key = fresh["model_input_key"].to_numpy() == old.reindex(fresh["seller_id"])[
        "model_input_key"
    ].to_numpy(dtype=object)
    assert 0.5 * len(fresh) < same_key.sum() < len(fresh) - 30
    assert counted.rows == (~same_key).sum()
    # A kept seller whose tenure is among its top features shows today's tenure.
    shows_tenure = fresh["top_features"].str.contains("tenure_days=").to_numpy() & same_key
    assert shows_tenure.any()
    moved = fresh[shows_tenure]["top_features"].to_numpy()
    assert (moved != old.loc[fresh["seller_id"][shows_tenure], "top_features"].to_numpy()).all()


def test_kept_scores_are_explained_when_they_enter_the_explained_top(monkeypatch, tenure_model):
    df, trained = tenure_model
    night_1 = score(df, trained, FEW, model_id="m1")
    assert night_1["top_features"].notna().sum() == 100
    # The night after, the 50 highest-scored sellers are gone: 50 kept sellers move up into
    # the explained top, with no explanation the night before.
    gone = night_1.nlargest(50, "risk_score")["seller_id"]
    night_2_features = df[~df["seller_id"].isin(gone)]
    counted = _Counted(monkeypatch)
    kept = score(night_2_features, trained, FEW, previous=night_1, model_id="m1")
    assert counted.rows == 50
    fresh = score(night_2_features, trained, FEW, model_id="m1")
    pd.testing.assert_frame_equal(kept, fresh, check_exact=True)


def test_nothing_is_kept_from_another_model_or_a_text_that_does_not_parse(
    monkeypatch, tenure_model
):
    df, trained = tenure_model
    night_1 = score(df, trained, FEW, model_id="m1")
    counted = _Counted(monkeypatch)
    other_model = score(df, trained, FEW, previous=night_1, model_id="m2")
    assert counted.rows == 100
    assert not set(other_model["model_input_key"]) & set(night_1["model_input_key"])
    # A text of the same key that is not one this model writes is explained again.
    garbled = night_1.assign(top_features=night_1["top_features"].str.replace("=", ": ", n=1))
    counted.rows = 0
    again = score(df, trained, FEW, previous=garbled[list(PREVIOUS_COLUMNS)], model_id="m1")
    assert counted.rows == 100
    pd.testing.assert_frame_equal(again, night_1, check_exact=True)


def test_written_explanations_read_back_whatever_the_feature_names():
    names = ["a (b)", "c=d", "region_EU", "region_EU; x"]
    x = np.array([[1.5, np.nan, 1.0, 2e6], [0.0, 3.0, 0.0, -1.0]])
    order = np.array([[3, 0, 1], [1, 2, 0]])
    cons_text = np.array([["+0.500", "-0.010", "+0.000"], ["+0.125", "-0.000", "-1.000"]], object)
    texts = risk._render_top(x, order, cons_text, names)
    assert texts[0] == "region_EU; x=2e+06 (+0.500); a (b)=1.5 (-0.010); c=d=null (+0.000)"
    parsed_order, parsed_cons, parsed = risk._parse_top(texts, names, 3)
    assert parsed.all()
    assert (parsed_order == order).all() and (parsed_cons == cons_text).all()
    # Another number of features, a null, or a name the model does not have: not parsed.
    others = np.array([texts[0].rsplit("; ", 1)[0], None, texts[1].replace("c=d", "e")], object)
    assert not risk._parse_top(others, names, 3)[2].any()


def test_contributions_are_the_scores_of_the_rows_with_one_feature_set_to_its_reference():
    df = make_features(n=600, seed=7)
    trained = train(df, FAST)
    x = df[list(trained.features)].to_numpy(dtype=float)
    x[::7, 2] = np.nan  # missing values take the trees' missing-value branch
    base = trained.model.predict_proba(x)[:, 1]
    contrib = risk._contributions(trained.model, x, trained.reference, base, batch_rows=128)
    for j in range(x.shape[1]):
        changed = x.copy()
        changed[:, j] = trained.reference[j]
        expected = base - trained.model.predict_proba(changed)[:, 1]
        # Bit for bit what predicting each changed row gives (rows at the reference: 0).
        assert (
            contrib[:, j].tobytes()
            == np.where(x[:, j] == trained.reference[j], 0.0, expected).tobytes()
        )
    assert (contrib != 0).any(axis=0).all()


def test_value_texts_are_written_once_per_distinct_value_and_keep_signed_zeros():
    values = np.array([1.0, np.nan, 1.0, -0.0, 0.0, 2e6, 1.0 / 3])
    texts = risk._texts_of(values, risk._value_text)
    assert texts.tolist() == ["1", "null", "1", "-0", "0", "2e+06", "0.3333"]
