"""Assemble the risk model's input from warehouse tables (seller grain only)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from governance.frames import to_pandas

# Columns of seller_features that are outcomes of the label itself or identifiers: never fed
# to the model.
LEAKY_OR_ID_COLUMNS = {
    "is_enforced",
    "first_removal_at",
    "is_confirmed_bad",
    "confirmed_bad_at",
    "is_label_mature",
    "n_warnings",
}
CATEGORICAL_COLUMNS = ("region", "primary_category", "seller_type")
# Columns of seller_features the frame reads for the training label alone: scores ignore them.
LABEL_COLUMNS = ("is_label_mature", "is_confirmed_bad")
# The sellers the model scores: those with an onboarding time (SCORED_BY not null).
# risk_feature_frame keeps these rows, SCORED_SELLERS is the same rule as SQL over
# seller_features, and the post-hook of seller_risk_scores deletes the others' rows
# (macros/incremental/risk_scores.sql; a test fails when its SQL drifts from this one).
SCORED_BY = "onboarded_at"
SCORED_SELLERS = f"{SCORED_BY} is not null"
MEMBERSHIP_COLUMNS = ["seller_id", "syndicate_id", "membership_strength", "n_links"]


def tenure_band(tenure_days: pd.Series | np.ndarray) -> np.ndarray:
    """``floor(log2(tenure_days + 1))`` of each tenure, as floats: 0 on the onboarding day, 1
    for 1-2 days, 2 for 3-6, 3 for 7-14, 4 for 15-30, ..., k for ``2**k - 1`` to
    ``2**(k+1) - 2`` days; null stays NaN and a negative tenure (onboarded after the reporting
    day) counts as 0.

    Each band is twice as long as the one before: fine where risk changes fastest (a seller's
    first days and weeks), coarse later, with no edge fitted to any data. A seller moves to the
    next band about log2 of its lifetime times (10 times in its first three years), not every
    night. Exact at every edge (the binary exponent, no floating-point logarithm).
    """
    days = pd.to_numeric(pd.Series(tenure_days).astype("Float64"), errors="coerce")
    days = days.to_numpy(dtype=float, na_value=np.nan)
    whole = np.floor(np.maximum(days, 0.0))
    _, exponent = np.frexp(whole + 1.0)  # whole + 1 = m * 2**exponent, 0.5 <= m < 1
    return np.where(np.isnan(days), np.nan, exponent - 1.0)


# Columns of seller_features that grow with the reporting date alone (a day older every night):
# per feature the model sees instead, the column it is computed from (here, at training and
# scoring time) and how. A coarse scale on which a night's ageing rarely moves a seller: were
# the model to split the column itself, every night would cross some of its thresholds for many
# sellers and make them "changed" (scored and explained again) with nothing new about them.
CLOCK_FEATURES = {"tenure_band": ("tenure_days", tenure_band)}


def tenure_band_ranges(n_bands: int = 6) -> str:
    """The first ``n_bands`` bands of :func:`tenure_band` in words, read from the function
    itself: ``"0 on the onboarding day, 1 for 1-2 days, 2 for 3-6, ..."``."""
    days = np.arange(2**n_bands - 1)
    bands = tenure_band(days)
    ranges = [
        (int(b), int(days[bands == b].min()), int(days[bands == b].max())) for b in range(n_bands)
    ]
    words = ["0 on the onboarding day"] + [f"{b} for {low}-{high}" for b, low, high in ranges[1:]]
    words[1] += " days"
    return ", ".join(words)


# What the derived features mean, for readers of the explanations (the other features are
# documented as columns of seller_features).
DERIVED_FEATURE_MEANINGS = {
    "tenure_band": (
        f"Tenure band (floor(log2(days since onboarding + 1)): {tenure_band_ranges()}, ...)"
    ),
}


def with_clock_features(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with each column of :data:`CLOCK_FEATURES` replaced by the feature computed
    from it (a column absent from ``df`` is skipped)."""
    present = {f: (c, band) for f, (c, band) in CLOCK_FEATURES.items() if c in df.columns}
    if not present:
        return df
    df = df.assign(**{f: band(df[c]) for f, (c, band) in present.items()})
    return df.drop(columns=[c for c, _ in present.values()])


def risk_feature_frame(
    features: pd.DataFrame,
    memberships: pd.DataFrame,
    syndicates: pd.DataFrame,
    model_features: Sequence[str] = (),
) -> pd.DataFrame:
    """One row per onboarded seller: seller_id, onboarded_at, label (1 / 0 / null when the
    label has not matured) and numeric features, including syndicate membership; a feature
    that grows with the reporting date (``tenure_days``) on its coarse scale
    (:data:`CLOCK_FEATURES`, ``tenure_band``).

    Categories become one indicator column each (``region_EU``, ...). A model trained earlier
    may know a category no seller has any more: its indicators in ``model_features`` that the
    data lacks are added as zeros (a category new since then is ignored by that model).
    """
    df = features[features[SCORED_BY].notna()].copy()
    df["label"] = pd.Series(pd.NA, index=df.index, dtype="boolean")
    mature = df["is_label_mature"].astype(bool)
    df.loc[mature, "label"] = df.loc[mature, "is_confirmed_bad"].astype(bool)

    members = memberships[MEMBERSHIP_COLUMNS]
    members = members.merge(syndicates, on="syndicate_id", how="left")
    df = df.merge(members, on="seller_id", how="left")
    df["in_syndicate"] = df["syndicate_id"].notna()
    df["syndicate_size"] = df["size"].fillna(0).astype(float)
    df["syndicate_membership_strength"] = df["membership_strength"].fillna(0.0)
    df["syndicate_links"] = df["n_links"].fillna(0).astype(float)

    for column in CATEGORICAL_COLUMNS:
        dummies = pd.get_dummies(df[column].astype("string"), prefix=column, dtype=float)
        df = pd.concat([df, dummies], axis=1)

    drop = LEAKY_OR_ID_COLUMNS | set(CATEGORICAL_COLUMNS)
    drop |= {"syndicate_id", "size", "membership_strength", "n_links"}
    drop |= {"registered_at", "first_activity_at", "last_activity_at"}
    keep = [c for c in df.columns if c not in drop]
    df = with_clock_features(df[keep].reset_index(drop=True))
    prefixes = tuple(f"{column}_" for column in CATEGORICAL_COLUMNS)
    absent = [c for c in model_features if c.startswith(prefixes) and c not in df.columns]
    return df.assign(**{c: 0.0 for c in absent})


def read_risk_feature_frame(
    features, memberships, syndicates, model_features: Sequence[str] = ()
) -> pd.DataFrame:
    """:func:`risk_feature_frame` of the relations ``seller_features``, ``seller_syndicates``
    and ``syndicates`` (DuckDB relations, Spark or pandas DataFrames), reading the columns it
    uses: with ``model_features`` (scoring with a trained model), only those of
    ``seller_features`` that the frame and the model need."""
    return risk_feature_frame(
        to_pandas(features, feature_columns_read(features.columns, model_features)),
        to_pandas(memberships, MEMBERSHIP_COLUMNS),
        to_pandas(syndicates, ["syndicate_id", "size"]),
        model_features=model_features,
    )


def feature_columns_read(
    columns: Sequence[str], model_features: Sequence[str] = ()
) -> list[str] | None:
    """The columns of ``seller_features`` to read for a model with ``model_features``: the
    seller, its onboarding and label, the categories and the model's own features; all of
    them (None) when no model is given (training)."""
    if not model_features:
        return None
    needed = {"seller_id", "onboarded_at", "is_label_mature", "is_confirmed_bad"}
    needed |= set(CATEGORICAL_COLUMNS) | set(model_features)
    needed |= {CLOCK_FEATURES[f][0] for f in model_features if f in CLOCK_FEATURES}
    return [column for column in columns if column in needed]


def scoring_input_columns(columns: Sequence[str], model_features: Sequence[str]) -> list[str]:
    """The columns of ``seller_features`` whose values a seller's score and explanation depend
    on, with a model of ``model_features``: those :func:`feature_columns_read` reads but the
    seller id, the label's (:data:`LABEL_COLUMNS`) and the source of each clock feature (the
    feature computed from it counts instead: a day of tenure within a band changes nothing)."""
    clock_sources = {CLOCK_FEATURES[f][0] for f in model_features if f in CLOCK_FEATURES}
    left_out = {"seller_id", *LABEL_COLUMNS, *clock_sources}
    return [c for c in feature_columns_read(columns, model_features) if c not in left_out]
