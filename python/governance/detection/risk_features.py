"""Assemble the risk model's input from warehouse tables (seller grain only)."""

from __future__ import annotations

from collections.abc import Sequence

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
MEMBERSHIP_COLUMNS = ["seller_id", "syndicate_id", "membership_strength", "n_links"]


def risk_feature_frame(
    features: pd.DataFrame,
    memberships: pd.DataFrame,
    syndicates: pd.DataFrame,
    model_features: Sequence[str] = (),
) -> pd.DataFrame:
    """One row per onboarded seller: seller_id, onboarded_at, label (1 / 0 / null when the
    label has not matured) and numeric features, including syndicate membership.

    Categories become one indicator column each (``region_EU``, ...). A model trained earlier
    may know a category no seller has any more: its indicators in ``model_features`` that the
    data lacks are added as zeros (a category new since then is ignored by that model).
    """
    df = features[features["onboarded_at"].notna()].copy()
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
    df = df[keep].reset_index(drop=True)
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
    return [column for column in columns if column in needed]
