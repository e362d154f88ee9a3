"""The risk model's input: tenure on a log2 scale, so that a night's ageing changes what the
model sees only when a seller enters its next band."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from governance import settings
from governance.detection.risk import RiskParams, score, train
from governance.detection.risk_features import (
    DERIVED_FEATURE_MEANINGS,
    MEMBERSHIP_COLUMNS,
    feature_columns_read,
    risk_feature_frame,
    tenure_band,
)

AS_OF = pd.Timestamp("2026-03-01")


def test_tenure_bands_double_in_length_from_the_onboarding_day():
    days = [0, 1, 2, 3, 6, 7, 14, 15, 30, 31, 62, 63, 1022, 1023]
    assert tenure_band(np.array(days)).tolist() == [0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 9, 10]
    # Exact at the edges of large bands too (no floating-point logarithm).
    assert tenure_band(np.array([2**40 - 2, 2**40 - 1])).tolist() == [39, 40]


def test_a_missing_tenure_stays_missing_and_a_negative_one_counts_as_the_first_day():
    bands = tenure_band(pd.Series([None, -3, 5], dtype="Int64"))
    assert np.isnan(bands[0]) and bands[1:].tolist() == [0, 2]


def _features(tenure_days: np.ndarray, as_of: pd.Timestamp) -> pd.DataFrame:
    """Sellers as seller_features has them on ``as_of``: bad when under 15 days old (the
    model's only signal), every label matured."""
    n = len(tenure_days)
    return pd.DataFrame(
        {
            "seller_id": [f"S{i:04d}" for i in range(n)],
            "onboarded_at": as_of - pd.to_timedelta(tenure_days, unit="D"),
            "is_label_mature": True,
            "is_confirmed_bad": tenure_days < 15,
            "region": "EU",
            "primary_category": "toys",
            "seller_type": "business",
            "tenure_days": tenure_days,
        }
    )


def _frame(features: pd.DataFrame, model_features=()) -> pd.DataFrame:
    memberships = pd.DataFrame(columns=MEMBERSHIP_COLUMNS)
    syndicates = pd.DataFrame(columns=["syndicate_id", "size"])
    return risk_feature_frame(features, memberships, syndicates, model_features=model_features)


@pytest.fixture(scope="module")
def tenure_model():
    tenure = np.arange(400) % 100
    trained = train(
        _frame(_features(tenure, AS_OF)),
        RiskParams(max_iter=5, min_samples_leaf=5, cutoff="2030-01-01"),
    )
    return tenure, trained


def test_the_model_is_trained_and_scored_on_the_band_not_on_the_days(tenure_model):
    _, trained = tenure_model
    assert "tenure_band" in trained.features and "tenure_days" not in trained.features
    # Scoring reads the days the band is computed from.
    columns = ["seller_id", "onboarded_at", "is_label_mature", "is_confirmed_bad", "tenure_days"]
    assert "tenure_days" in feature_columns_read(columns, trained.features)


def test_a_night_older_a_seller_is_scored_again_only_when_it_enters_the_next_band(
    tenure_model,
):
    tenure, trained = tenure_model
    night_1 = score(_frame(_features(tenure, AS_OF)), trained, model_id="m1")
    older = _frame(_features(tenure + 1, AS_OF + pd.Timedelta(days=1)), trained.features)
    night_2 = score(older, trained, previous=night_1, model_id="m1")
    pd.testing.assert_frame_equal(night_2, score(older, trained, model_id="m1"), check_exact=True)

    by_tenure = dict(zip(tenure[:100], night_1["model_input_key"][:100], strict=True))
    after = dict(zip(tenure[:100], night_2["model_input_key"][:100], strict=True))
    # 20 days to 21 (band 4, 15-30 days): the model sees the same seller, its key is kept.
    assert after[20] == by_tenure[20]
    # 14 days to 15 (band 3 to 4, where the model splits new from established): scored again.
    assert after[14] != by_tenure[14]
    assert night_2["risk_score"][14] < night_1["risk_score"][14]
    # Only the sellers that entered a band the model splits from the one before have a new key:
    # a day of ageing crosses an edge from 0, 2, 6, 14, 30 or 62 days.
    changed = {int(t) for t in tenure[night_2["model_input_key"] != night_1["model_input_key"]]}
    assert changed and changed <= {0, 2, 6, 14, 30, 62}


def test_an_explanation_names_the_tenure_band_with_the_days_it_covers():
    from governance.dashboard.views.seller import reasons_in_words

    [sentence] = reasons_in_words("tenure_band=3 (+0.050)", DERIVED_FEATURE_MEANINGS)
    assert sentence.startswith("Tenure band (floor(log2(days since onboarding + 1)): 0 on the")
    assert sentence.endswith(
        "3 for 7-14, 4 for 15-30, 5 for 31-62, ...): 3 — raises the score by 0.050"
    )


BAND_LIST = re.compile(r"0 on the onboarding day((?:,? \d+ for \d+-\d+(?: days)?)+)")


def _written_bands(text: str) -> list[tuple[int, int, int]]:
    """Every "k for a-b" of each band list written in ``text`` (line breaks as spaces)."""
    lists = BAND_LIST.findall(" ".join(text.split()))
    return [
        tuple(map(int, b)) for bands in lists for b in re.findall(r"(\d+) for (\d+)-(\d+)", bands)
    ]


@pytest.mark.parametrize(
    "path",
    [
        "models/marts/risk/_risk__models.yml",
        "models/marts/detection/_detection__docs.md",
        "python/governance/detection/risk_features.py",
    ],
)
def test_every_written_list_of_tenure_bands_matches_the_function(path):
    written = _written_bands((settings.project_dir() / path).read_text())
    assert len(written) >= 3, f"no list of tenure bands found in {path}"
    for band, first_day, last_day in written:
        assert tenure_band(
            np.array([first_day - 1, first_day, last_day, last_day + 1])
        ).tolist() == [
            band - 1,
            band,
            band,
            band + 1,
        ], f"{path}: band {band} is not {first_day}-{last_day} days"
