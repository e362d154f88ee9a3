"""The rows of ``seller_risk_scores`` a DuckDB build writes: on an incremental build only those of
the sellers whose score or explanation can differ from the row the table holds.

A seller's row is a function of the model in force, the scoring settings and the seller's own
inputs: the columns of ``seller_features`` the model's frame reads for it
(:func:`governance.detection.risk_features.scoring_input_columns`), its clock features as the
model sees them (``tenure_band``, not the days, which grow every night) and its syndicate
membership; and of whether it is among the ``explain_max_rows`` highest scores (explained) or
not. :func:`input_fingerprints` hashes the inputs, the settings and the scoring code in DuckDB,
one pass over narrow columns with nothing read into pandas. A build then

- scores the sellers whose fingerprint is not the one their stored row carries: new sellers,
  changed inputs, and every seller after a new model, other settings or other scoring code;
  of those, a seller whose ``model_input_key`` did not change keeps its score and explanation
  (:func:`governance.detection.risk.score` with ``previous``);
- ranks the new scores with the stored scores of everyone else, and writes again the other
  sellers whose place moved across the explained top: explained now (a score above them fell)
  or null now (a score rose past them);
- leaves every other row as it is. Sellers no longer scored (no row of ``seller_features`` with
  an onboarding time) are left out of the ranking and lose their row in the model's post-hook
  (``delete_risk_scores_of_sellers_no_longer_scored``).

Written into the table with dbt's delete+insert by ``seller_id``, that gives the table scoring
every seller gives. The fingerprint is 63 bits of DuckDB's ``hash``: two different inputs of one
seller taking the same fingerprint (about one chance in 10^18 per changed seller) would keep its
previous row; a DuckDB release that hashes differently only makes one night score everyone.
"""

from __future__ import annotations

import hashlib
import inspect
import sys

import numpy as np
import pandas as pd
import pyarrow as pa

from governance.detection import risk, risk_features
from governance.detection.risk import PREVIOUS_COLUMNS, RiskParams, score
from governance.detection.risk_features import (
    CLOCK_FEATURES,
    SCORED_SELLERS,
    read_risk_feature_frame,
    scoring_input_columns,
)

FINGERPRINT_COLUMN = "input_fingerprint"
# The table's columns and types, whatever the rows of a night hold (none, or only nulls).
WRITTEN_SCHEMA = pa.schema(
    [
        ("seller_id", pa.string()),
        ("risk_score", pa.float64()),
        ("risk_band", pa.string()),
        ("model_version", pa.string()),
        ("top_features", pa.string()),
        ("is_out_of_time", pa.bool_()),
        ("model_input_key", pa.string()),
        (FINGERPRINT_COLUMN, pa.int64()),
    ]
)
# A seller's syndicate membership as the frame reads it (risk_features.risk_feature_frame):
# whether it has a syndicate, the syndicate's size, its strength and links.
_MEMBERSHIP_VALUES = ("m.syndicate_id is not null", "s.size", "m.membership_strength", "m.n_links")


def scoring_settings(model_id: str, params: RiskParams) -> str:
    """What every seller's row depends on besides its inputs: the model in force, the number of
    explained features, the bands, and the code that turns a seller's columns into its row
    (the sources of the feature frame, the scorer and this module), as one text."""
    modules = (risk_features, risk, sys.modules[__name__])
    code = "".join(inspect.getsource(module) for module in modules)
    digest = hashlib.sha256(code.encode()).hexdigest()[:16]
    bands = ",".join(repr(float(t)) for t in params.band_thresholds)
    return f"{model_id}/{params.top_k_features}/{risk.SCORE_FORMAT}/{bands}/{digest}"


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def input_fingerprints(session, features, memberships, syndicates, model_features, settings):
    """``(seller_id, input_fingerprint)`` of every seller the model scores, as a DuckDB relation
    of ``session``: the hash of ``settings`` and of the seller's inputs (module docstring).
    ``features``, ``memberships`` and ``syndicates`` are the relations seller_features,
    seller_syndicates and syndicates."""
    scored = features.filter(SCORED_SELLERS)
    joined = (
        scored.set_alias("f")
        .join(memberships.set_alias("m"), "f.seller_id = m.seller_id", how="left")
        .join(syndicates.set_alias("s"), "m.syndicate_id = s.syndicate_id", how="left")
    )
    columns = scoring_input_columns(features.columns, model_features)
    values = [f"f.{_identifier(c)}" for c in columns]
    for feature, (source, compute) in CLOCK_FEATURES.items():
        if feature not in model_features:
            continue
        seen = scored.project(_identifier(source)).distinct().df()[source]
        lookup = pd.DataFrame({"source_value": seen, "feature_value": compute(seen)})
        alias = f"clock_{feature}"
        joined = joined.join(
            session.from_df(lookup).set_alias(alias),
            f"f.{_identifier(source)} = {alias}.source_value",
            how="left",
        )
        values.append(f"{alias}.feature_value")
    values += _MEMBERSHIP_VALUES
    digest = f"hash({_sql_text(settings)}, {', '.join(values)})"
    return joined.project(f"f.seller_id, cast({digest} >> 1 as bigint) as {FINGERPRINT_COLUMN}")


class ExplainedTop:
    """Which sellers are explained: the ``n`` highest scores (ties: the lower seller id first)
    among the sellers being scored and the stored scores of the others (``other_ids``, an arrow
    string array, and ``other_scores``). Called by :func:`governance.detection.risk.score` with
    the scored sellers and their scores; then holds the last explained score and seller
    (``boundary``; None when every seller is explained)."""

    def __init__(self, other_ids: pa.Array, other_scores: np.ndarray, n: int):
        self.other_ids, self.other_scores, self.n = other_ids, other_scores, n
        self.boundary: tuple[float, str] | None = None

    def __call__(self, seller_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        every = np.concatenate([self.other_scores, scores])
        if self.n <= 0:
            self.boundary = (np.inf, "")
        elif len(every) <= self.n:
            self.boundary = None
        else:
            last_score = np.partition(every, len(every) - self.n)[len(every) - self.n]
            above = int((every > last_score).sum())
            tied = self.other_ids.filter(pa.array(self.other_scores == last_score)).to_pylist()
            tied = sorted([*tied, *np.asarray(seller_ids, dtype=object)[scores == last_score]])
            self.boundary = (float(last_score), tied[self.n - above - 1])
        return self.explains(seller_ids, scores)

    def explains(self, seller_ids, scores: np.ndarray) -> np.ndarray:
        """Per seller (ids as a sequence or an arrow array), whether it is explained."""
        if self.boundary is None:
            return np.ones(len(scores), dtype=bool)
        last_score, last_seller = self.boundary
        explained = scores > last_score
        tie = np.flatnonzero(scores == last_score)
        if tie.size:
            if isinstance(seller_ids, pa.Array | pa.ChunkedArray):
                ids = np.asarray(seller_ids.take(pa.array(tie)).to_pylist(), dtype=object)
            else:
                ids = np.asarray(seller_ids, dtype=object)[tie]
            explained[tie] = ids <= last_seller
        return explained


def stored_scores(previous) -> bool:
    """Whether ``previous`` (the table as it stands, or None) holds what a build keeps: its
    columns (a table written before the fingerprint existed is scored again whole)."""
    return previous is not None and set(WRITTEN_SCHEMA.names) <= set(previous.columns)


def rows_to_write(
    session,
    features,
    memberships,
    syndicates,
    previous,
    trained: risk.TrainedRiskModel,
    params: RiskParams,
    model_id: str,
) -> pa.Table:
    """The rows a build writes (module docstring), typed as the table (:data:`WRITTEN_SCHEMA`):
    every seller when ``previous`` (the table before this build, a relation of ``session``) is
    None or lacks a column; else the sellers whose fingerprint changed and those whose place
    moved across the explained top."""
    settings = scoring_settings(model_id, params)
    fingerprints = input_fingerprints(
        session, features, memberships, syndicates, trained.features, settings
    )
    if not stored_scores(previous):
        frame = read_risk_feature_frame(
            features, memberships, syndicates, model_features=trained.features
        )
        scored = score(frame, trained, params, model_id=model_id)
        return _typed(_with_fingerprints(scored, fingerprints.df()))

    # One pass: per seller scored today, whether its stored row has today's fingerprint, and
    # that row's score and whether it is explained.
    stored = (
        fingerprints.set_alias("c")
        .join(previous.set_alias("p"), "c.seller_id = p.seller_id", how="left")
        .project(
            f"c.seller_id, c.{FINGERPRINT_COLUMN}, "
            f"coalesce(p.{FINGERPRINT_COLUMN} = c.{FINGERPRINT_COLUMN}, false) as is_kept, "
            "p.risk_score, p.top_features is not null as is_explained"
        )
        .arrow()
    )
    if isinstance(stored, pa.RecordBatchReader):
        stored = stored.read_all()
    is_kept = stored["is_kept"].to_numpy()
    kept_rows = stored.filter(pa.array(is_kept))
    changed = _stored_rows(session, previous, stored.filter(pa.array(~is_kept)))
    top = ExplainedTop(
        kept_rows["seller_id"].combine_chunks(),
        kept_rows["risk_score"].to_numpy(),
        params.explain_max_rows,
    )
    frame = _frame(session, features, memberships, syndicates, changed, trained)
    kept = changed[changed["model_input_key"].notna()][list(PREVIOUS_COLUMNS)]
    scored = score(frame, trained, params, previous=kept, model_id=model_id, explained=top)
    explained_now = top.explains(
        kept_rows["seller_id"].combine_chunks(), kept_rows["risk_score"].to_numpy()
    )
    moved = kept_rows.filter(pa.array(explained_now != kept_rows["is_explained"].to_numpy()))
    moved = _stored_rows(session, previous, moved)
    entering = moved[moved["top_features"].isna()]
    leaving = moved[moved["top_features"].notna()]
    frame = _frame(session, features, memberships, syndicates, entering, trained)
    explained = score(
        frame,
        trained,
        params,
        previous=entering[list(PREVIOUS_COLUMNS)],
        model_id=model_id,
        explained=lambda ids, scores: np.ones(len(scores), dtype=bool),
    )
    return _typed(
        _with_fingerprints(scored, changed),
        _with_fingerprints(explained, entering),
        leaving.assign(top_features=None),
    )


def _stored_rows(session, previous, sellers: pa.Table) -> pd.DataFrame:
    """``sellers`` (``seller_id`` and today's fingerprint) with the rest of their stored row
    (nulls for a seller without one)."""
    today = session.from_arrow(sellers.select(["seller_id", FINGERPRINT_COLUMN])).set_alias("c")
    stored = ", ".join(f"p.{c}" for c in WRITTEN_SCHEMA.names if c not in today.columns)
    joined = today.join(previous.set_alias("p"), "c.seller_id = p.seller_id", how="left")
    return joined.project(f"c.seller_id, c.{FINGERPRINT_COLUMN}, {stored}").df()


def _frame(session, features, memberships, syndicates, sellers: pd.DataFrame, trained):
    """The model's feature frame of ``sellers`` (a frame with their ``seller_id``) alone."""
    ids = session.from_df(sellers[["seller_id"]])
    return read_risk_feature_frame(
        features.join(ids, "seller_id"),
        memberships.join(ids, "seller_id"),
        syndicates,
        model_features=trained.features,
    )


def _with_fingerprints(scored: pd.DataFrame, fingerprints: pd.DataFrame) -> pd.DataFrame:
    by_seller = fingerprints.set_index("seller_id")[FINGERPRINT_COLUMN]
    return scored.assign(**{FINGERPRINT_COLUMN: by_seller.reindex(scored["seller_id"]).to_numpy()})


def _typed(*parts: pd.DataFrame) -> pa.Table:
    names = WRITTEN_SCHEMA.names
    return pa.concat_tables(
        pa.Table.from_pandas(part[names], schema=WRITTEN_SCHEMA, preserve_index=False)
        for part in parts
    )
