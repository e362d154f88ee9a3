"""Supervised seller risk scores with an out-of-time evaluation.

:func:`train_and_score` learns ``P(seller turns out bad)`` from matured seller labels:

* **Out-of-time split.** Sellers are ordered by ``onboarded_at``. Labelled sellers onboarded
  before the cut-off train the model, labelled sellers onboarded on or after it validate it. The
  cut-off is ``params.cutoff`` or, by default, the ``cutoff_quantile`` (70 %) quantile of
  ``onboarded_at`` among labelled sellers. The validation therefore measures how the model does
  on a later cohort, as it will be used.
* **Model.** ``sklearn.ensemble.HistGradientBoostingClassifier`` with a fixed ``random_state``
  and no early stopping (fully deterministic); missing feature values are handled natively.
* **Refit.** After validation the model is refitted on *all* labelled sellers (``refit_on_all``)
  and scores every seller, labelled or not. The report's metrics describe the train-only model
  on the out-of-time cohort; the refitted model has seen more (and more recent) data.
* **Bands.** ``risk_band`` is ``low`` below ``band_thresholds[0]`` (0.2), ``medium`` below
  ``[1]`` (0.5), ``high`` below ``[2]`` (0.8), ``critical`` above. Scores are predicted
  probabilities of the boosted model (log-loss fit), so the bands read as probabilities.
* **Explanations.** ``top_features`` lists the three features that raise the seller's score
  most: for each feature, the score minus the score with that feature set to its median over
  the training sellers, e.g. ``'complaint_rate=0.31 (+0.220); shared_bank_accounts=2
  (+0.150); ...'``. Computed for the ``explain_max_rows`` highest-scored sellers (default
  200k; per seller and non-median feature, the trees that split on that feature evaluated
  again); the others get a null.
* **Train once, score often.** :func:`train` returns a :class:`TrainedRiskModel` (the fitted
  model, its features, cut-off, explanation reference and report) and :func:`score` scores any
  later feature table with it; :func:`train_and_score` is the two in one.
  :mod:`governance.detection.risk_registry` stores trained models and decides when to retrain.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
from threadpoolctl import threadpool_limits

from governance.detection._params import as_sequence, coerce, params_from_mapping

BANDS = ("low", "medium", "high", "critical")
SCORE_COLUMNS = [
    "seller_id",
    "risk_score",
    "risk_band",
    "model_version",
    "top_features",
    "is_out_of_time",
    "model_input_key",
]
# What a build reads of the previous build's scores to keep those whose inputs did not change.
PREVIOUS_COLUMNS = ("seller_id", "risk_score", "top_features", "model_input_key")
# Version of how scores and explanations are computed and written: part of every
# model_input_key, so a change to either scores every seller again.
SCORE_FORMAT = 1
_RESERVED = {"seller_id", "onboarded_at", "label"}


@dataclass(frozen=True)
class RiskParams:
    """Tuning of :func:`train_and_score`.

    Attributes:
        feature_columns: features to use; default every numeric or boolean column except
            ``seller_id``, ``onboarded_at`` and ``label``.
        cutoff: explicit out-of-time cut-off (anything ``pd.Timestamp`` accepts).
        cutoff_quantile: quantile of labelled sellers' ``onboarded_at`` used when ``cutoff`` is
            not given.
        refit_on_all: refit on every labelled seller after validation before scoring.
        max_iter, learning_rate, max_leaf_nodes, min_samples_leaf, l2_regularization,
        random_state: gradient-boosting settings.
        band_thresholds: score thresholds of the medium, high and critical bands.
        top_k_features: number of features in ``top_features``.
        explain_max_rows: explain at most this many sellers (the highest scored).
        train_max_rows: each fit uses at most this many labelled sellers, a uniform sample
            drawn with ``random_state`` (so the base rate, and with it the calibration of the
            scores, is kept). Past a few hundred thousand sellers a larger sample barely moves
            the out-of-time metrics but the fit time grows linearly; ``None`` fits on all.
        importance_max_rows: the report's ``feature_importance`` is measured on at most this
            many sellers of the out-of-time cohort (a sample drawn with ``random_state``); the
            cohort's metrics always use all of it.
        model_name: prefix of ``model_version`` (``<model_name>_<cutoff yyyymmdd>``).
        n_threads: OpenMP threads for training and scoring (``None``: library default, every
            core). Two by default: results do not depend on it; two threads take about 60% of
            the time of one, and a fixed small number keeps a many-core machine that also runs
            other dbt models from being oversubscribed (which can make the trainer several
            times slower).
    """

    feature_columns: tuple[str, ...] | None = None
    cutoff: Any = None
    cutoff_quantile: float = 0.7
    refit_on_all: bool = True
    max_iter: int = 100
    learning_rate: float = 0.1
    max_leaf_nodes: int = 31
    min_samples_leaf: int = 20
    l2_regularization: float = 1.0
    random_state: int = 0
    band_thresholds: tuple[float, float, float] = (0.2, 0.5, 0.8)
    top_k_features: int = 3
    explain_max_rows: int = 200_000
    train_max_rows: int | None = 300_000
    importance_max_rows: int = 50_000
    model_name: str = "hgb_v2"
    n_threads: int | None = 2

    def __post_init__(self) -> None:
        if not 0.0 < self.cutoff_quantile < 1.0:
            raise ValueError("cutoff_quantile must be in (0, 1)")
        t = self.band_thresholds
        if not (len(t) == 3 and 0.0 <= t[0] <= t[1] <= t[2] <= 1.0):
            raise ValueError("band_thresholds must be three increasing scores in [0, 1]")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> RiskParams:
        """Build from a mapping such as dbt vars (values may be strings); unknown keys and
        ``None`` values are ignored."""
        return params_from_mapping(
            cls,
            values,
            feature_columns=lambda raw: tuple(str(c).strip() for c in as_sequence(raw)),
            cutoff=lambda raw: None if str(raw).strip().lower() in {"", "none", "null"} else raw,
            n_threads=lambda raw: coerce(raw, None),
            train_max_rows=lambda raw: coerce(raw, None),
        )


def precision_at_k(y_true: Sequence | np.ndarray, scores: Sequence | np.ndarray, frac: float):
    """Share of positives among the ``ceil(frac * n)`` highest scores (ties: earlier rows first).

    Returns NaN for empty input.
    """
    if not 0.0 < frac <= 1.0:
        raise ValueError("frac must be in (0, 1]")
    y = np.asarray(y_true, dtype=float)
    s = np.asarray(scores, dtype=float)
    if y.shape != s.shape:
        raise ValueError("y_true and scores must have the same length")
    if y.size == 0:
        return float("nan")
    k = max(1, int(np.ceil(frac * y.size)))
    top = np.argsort(-s, kind="stable")[:k]
    return float(y[top].mean())


def _labels(col: pd.Series) -> np.ndarray:
    """Labels as floats: 1.0 bad, 0.0 good, NaN not matured."""
    if col.dtype == object:
        col = col.map(lambda v: np.nan if v is None or v is pd.NA else v)
    lab = pd.to_numeric(col.astype("Float64"), errors="coerce").to_numpy(
        dtype=float, na_value=np.nan
    )
    bad = ~np.isnan(lab) & ~np.isin(lab, (0.0, 1.0))
    if bad.any():
        raise ValueError("label must be 1 (bad), 0 (good) or null (not matured)")
    return lab


def _feature_matrix(df: pd.DataFrame, params: RiskParams) -> tuple[np.ndarray, list[str]]:
    if params.feature_columns is not None:
        cols = list(params.feature_columns)
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise ValueError(f"feature columns not found: {missing}")
    else:
        cols = [
            c
            for c in df.columns
            if c not in _RESERVED
            and (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]))
        ]
    if not cols:
        raise ValueError("no numeric feature columns to train on")
    x = np.column_stack([_as_floats(df[c]) for c in cols])
    return x, cols


def _as_floats(column: pd.Series) -> np.ndarray:
    """A feature column as floats, nulls as NaN (numpy numbers and booleans directly, others
    through pandas' nullable conversion)."""
    if isinstance(column.dtype, np.dtype) and column.dtype.kind in "fiub":
        return column.to_numpy(dtype=float)
    return pd.to_numeric(column.astype("Float64"), errors="coerce").to_numpy(
        dtype=float, na_value=np.nan
    )


def _model(params: RiskParams) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        max_iter=params.max_iter,
        learning_rate=params.learning_rate,
        max_leaf_nodes=params.max_leaf_nodes,
        min_samples_leaf=params.min_samples_leaf,
        l2_regularization=params.l2_regularization,
        early_stopping=False,
        random_state=params.random_state,
    )


def _sample_rows(rows: np.ndarray, max_rows: int | None, seed: int) -> np.ndarray:
    """``rows`` (sorted indices), or a seeded uniform sample of ``max_rows`` of them, sorted."""
    if max_rows is None or rows.size <= max_rows:
        return rows
    return np.sort(np.random.default_rng(seed).choice(rows, max_rows, replace=False))


def _fit(x: np.ndarray, y: np.ndarray, params: RiskParams, what: str):
    """The model fitted on at most ``train_max_rows`` of the rows, and how many it used."""
    rows = _sample_rows(np.arange(len(y)), params.train_max_rows, params.random_state)
    x, y = x[rows], y[rows]
    n_pos = int((y == 1).sum())
    n_neg = int((y == 0).sum())
    if n_pos == 0:
        raise ValueError(f"no positive labels (label = 1) in the {what}: cannot train")
    if n_neg == 0:
        raise ValueError(f"no negative labels (label = 0) in the {what}: cannot train")
    return _model(params).fit(x, y.astype(int)), len(rows)


def _contributions(
    model, x: np.ndarray, reference: np.ndarray, base: np.ndarray, batch_rows=50_000
):
    """Per row and feature: ``base`` (the rows' scores) minus the score with that feature set
    to its reference value.

    Rows whose value already equals the reference contribute exactly zero and are skipped, so
    sparse count and indicator features cost little. A feature set to its reference changes
    only the trees that split on it: the others' values (:func:`_tree_values`, computed once)
    are reused, and the score is summed as the model sums it, tree by tree in order, so it is
    bit for bit ``model.predict_proba`` of the changed row.
    """
    n, f = x.shape
    out = np.zeros((n, f))
    trees = _trees(model)
    uses = _trees_splitting_on(trees, f)
    for lo in range(0, n, batch_rows):
        xb = np.ascontiguousarray(x[lo : lo + batch_rows], dtype=np.float64)
        values = _tree_values(model, trees, xb)
        for j in range(f):
            same = (xb[:, j] == reference[j]) | (np.isnan(xb[:, j]) & np.isnan(reference[j]))
            rows = np.flatnonzero(~same)
            if rows.size == 0:
                continue
            xr = xb[rows]
            xr[:, j] = reference[j]
            replaced = _tree_values(model, [trees[t] for t in uses[j]], xr)
            changed = dict(zip(uses[j].tolist(), replaced, strict=True))
            summed = [changed[t] if t in changed else values[t, rows] for t in range(len(trees))]
            out[lo + rows, j] = base[lo + rows] - _proba_of_tree_values(model, summed)
    return out


def _trees(model: HistGradientBoostingClassifier) -> list:
    """The fitted trees, in the order the model sums them (one per iteration: binary)."""
    if model.n_trees_per_iteration_ != 1:
        raise ValueError("the risk model must be a binary classifier")
    return [trees[0] for trees in model._predictors]


def _trees_splitting_on(trees: list, n_features: int) -> list[np.ndarray]:
    """Per feature, the positions of the trees with a split on it."""
    uses = np.zeros((len(trees), n_features), dtype=bool)
    for t, tree in enumerate(trees):
        splits = tree.nodes[tree.nodes["is_leaf"] == 0]
        uses[t, np.unique(splits["feature_idx"])] = True
    return [np.flatnonzero(uses[:, j]) for j in range(n_features)]


def _tree_values(model, trees: list, x: np.ndarray) -> np.ndarray:
    """Per tree and row of ``x`` (float64, C order), the tree's raw value (its leaf)."""
    bitsets, feature_map = model._bin_mapper.make_known_categories_bitsets()
    threads = _openmp_effective_n_threads()
    values = np.empty((len(trees), len(x)))
    for t, tree in enumerate(trees):
        values[t] = tree.predict(x, bitsets, feature_map, threads)
    return values


def _proba_of_tree_values(model, values) -> np.ndarray:
    """The positive-class probability of rows whose raw values are ``values``, one array per
    tree: the baseline plus each tree's values in turn, as ``model.predict_proba`` adds them."""
    raw = np.zeros((len(values[0]), 1), dtype=model._baseline_prediction.dtype, order="F")
    raw += model._baseline_prediction
    for tree_values in values:
        raw[:, 0] += tree_values
    return model._loss.predict_proba(raw)[:, 1]


def _format_top(x: np.ndarray, contrib: np.ndarray, names: list[str], k: int) -> np.ndarray:
    if x.shape[0] == 0:
        return np.empty(0, dtype=object)
    k = min(k, len(names))
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :k]
    cons = np.take_along_axis(contrib, order, axis=1)
    cons_text = np.column_stack([_texts_of(cons[:, j], _contribution_text) for j in range(k)])
    return _render_top(x, order, cons_text, names)


def _value_text(value: float) -> str:
    return "null" if np.isnan(value) else f"{value:.4g}"


def _contribution_text(value: float) -> str:
    return f"{value:+.3f}"


def _texts_of(values: np.ndarray, text) -> np.ndarray:
    """``text(value)`` of every value, each distinct value (to the bit) written once: a
    feature's values repeat a lot across sellers (counts, indicators, days)."""
    bits = np.ascontiguousarray(values, dtype=float).view(np.int64)
    distinct, inverse = np.unique(bits, return_inverse=True)
    written = np.array([text(v) for v in distinct.view(float)], dtype=object)
    return written[inverse.reshape(-1)]


def _render_top(
    x: np.ndarray, order: np.ndarray, cons_text: np.ndarray, names: Sequence[str]
) -> np.ndarray:
    """``top_features`` of each row: the features ``order`` names, each with the row's value
    and its contribution (already written as text)."""
    if x.shape[0] == 0:
        return np.empty(0, dtype=object)
    vals = np.take_along_axis(x, order, axis=1)
    names_arr = pa.array(list(names), type=pa.string())
    parts: list = []
    for j in range(order.shape[1]):
        if j:
            parts.append("; ")
        parts += [
            names_arr.take(pa.array(order[:, j])),
            "=",
            pa.array(_texts_of(vals[:, j], _value_text), type=pa.string()),
            " (",
            pa.array(cons_text[:, j], type=pa.string()),
            ")",
        ]
    return pc.binary_join_element_wise(*parts, "").to_numpy(zero_copy_only=False)


def _literal(text: str) -> str:
    """``text`` as a regular expression (RE2 syntax) matching exactly it."""
    return "".join(c if c.isalnum() or c == "_" else f"\\x{{{ord(c):x}}}" for c in text)


def _parse_top(
    texts: np.ndarray, names: Sequence[str], k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The features and contributions (as written) of ``top_features`` texts written by
    :func:`_render_top` for a model with these feature ``names``: per text the feature indices
    (m x k), the contributions' text (m x k) and whether the text parsed (a null or a text of
    other features or another ``k`` does not). One vectorised regular expression over all."""
    k = min(k, len(names))
    alternatives = "|".join(_literal(n) for n in sorted(names, key=len, reverse=True))
    parts = [rf"(?P<f{j}>{alternatives})=\S+ \((?P<c{j}>[+-]\d+\.\d{{3}})\)" for j in range(k)]
    texts = pa.array(np.asarray(texts, dtype=object), type=pa.string(), from_pandas=True)
    matched = pc.extract_regex(texts, "^" + "; ".join(parts) + "$")
    parsed = matched.is_valid().to_numpy(zero_copy_only=False)
    order = np.zeros((len(texts), k), dtype=np.intp)
    cons_text = np.full((len(texts), k), "", dtype=object)
    known = pa.array(list(names), type=pa.string())
    for j in range(k):
        found = pc.index_in(matched.field(f"f{j}"), value_set=known).fill_null(0)
        order[:, j] = found.to_numpy(zero_copy_only=False)
        cons_text[:, j] = matched.field(f"c{j}").fill_null("").to_numpy(zero_copy_only=False)
    return order, cons_text, parsed


def _split_thresholds(model: HistGradientBoostingClassifier, n_features: int) -> list:
    """Per feature, the sorted distinct thresholds the model's trees split it on."""
    nodes = np.concatenate([tree.nodes for trees in model._predictors for tree in trees])
    splits = nodes[nodes["is_leaf"] == 0]
    if splits["is_categorical"].any():
        raise ValueError("the risk model splits a feature as a category: not supported")
    return [
        np.unique(splits["num_threshold"][splits["feature_idx"] == j]) for j in range(n_features)
    ]


def model_view(model: HistGradientBoostingClassifier, x: np.ndarray) -> np.ndarray:
    """What the fitted ``model`` can tell apart in the feature matrix ``x``: per row and
    feature, how many of the model's split thresholds on that feature lie below the value (a
    tree sends a value ``<=`` its threshold left), one past them for a missing value, 0 for a
    feature no tree splits on. Two rows with the same view take the same path through every
    tree, so they get the same score and, the explanations' reference being fixed, the same
    contributions. At most 255 bins per feature (scikit-learn's ``max_bins``): one byte each."""
    view = np.zeros(x.shape, dtype=np.uint8)
    for j, thresholds in enumerate(_split_thresholds(model, x.shape[1])):
        if thresholds.size:
            below = np.searchsorted(thresholds, x[:, j], side="left")
            view[:, j] = np.where(np.isnan(x[:, j]), thresholds.size + 1, below)
    return view


def model_input_keys(
    model: HistGradientBoostingClassifier, x: np.ndarray, model_id: str, top_k_features: int
) -> np.ndarray:
    """Per row of ``x``, the text of what its score and explanation depend on:
    ``<model_id>/<top_k_features>/<SCORE_FORMAT>:`` and the row's :func:`model_view`, each
    feature in as many bits as its largest value needs, in hexadecimal. Equal keys, equal
    scores and contributions; no hashing, so no collision."""
    view = model_view(model, x)
    bits = [
        int(t.size + 1).bit_length() if t.size else 0 for t in _split_thresholds(model, x.shape[1])
    ]
    columns = [
        np.unpackbits(view[:, [j]], axis=1)[:, 8 - width :] for j, width in enumerate(bits) if width
    ]
    packed = np.packbits(np.concatenate(columns, axis=1), axis=1) if columns else None
    prefix = f"{model_id}/{top_k_features}/{SCORE_FORMAT}:"
    if packed is None or packed.shape[1] == 0:
        return np.full(len(x), prefix, dtype=object)
    chars = 2 * packed.shape[1]
    hexed = np.frombuffer(packed.tobytes().hex().encode("ascii"), dtype=f"S{chars}")
    return prefix + hexed.astype(f"U{chars}").astype(object)


@dataclass(frozen=True)
class TrainedRiskModel:
    """A fitted seller risk model and what scoring needs besides it.

    Attributes:
        model: the fitted classifier (refitted on all labelled sellers when ``refit_on_all``).
        reference: per-feature values (training medians) the explanations compare with.
        report: the out-of-time evaluation (see :func:`train_and_score`), which also names the
            model's features, cut-off and version (the properties below).
    """

    model: HistGradientBoostingClassifier
    reference: np.ndarray
    report: dict[str, Any]

    @property
    def features(self) -> tuple[str, ...]:
        """The feature columns, in order."""
        return tuple(self.report["features"])

    @property
    def cutoff(self) -> pd.Timestamp:
        """The out-of-time cut-off: sellers onboarded on or after it are out of time."""
        return self.report["cutoff"]

    @property
    def model_version(self) -> str:
        """``<model_name>_<cutoff yyyymmdd>``."""
        return self.report["model_version"]


def train_and_score(
    features: pd.DataFrame, params: RiskParams | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Train the seller risk model out of time, report on the later cohort, score everyone.

    The same as :func:`score` with the model of :func:`train`.

    Args:
        features: one row per seller: ``seller_id``, ``onboarded_at`` (timestamp), ``label``
            (1 / True = confirmed bad, 0 / False = matured good, null = not matured yet) and
            numeric or boolean feature columns.
        params: tuning; defaults to :class:`RiskParams()`.

    Returns:
        ``(scores, report)``. ``scores`` has one row per seller, sorted by ``seller_id``:
        ``seller_id, risk_score (0-1), risk_band ('low' | 'medium' | 'high' | 'critical'),
        model_version, top_features, is_out_of_time`` (onboarded on or after the cut-off).
        ``report`` holds ``model_version, cutoff, features, n_train, n_train_positive,
        n_validation, n_validation_positive, validation_base_rate, roc_auc,
        average_precision, precision_at_1pct, precision_at_5pct`` (out-of-time cohort,
        train-only model; None when the cohort lacks a class), ``feature_importance`` (mean
        absolute contribution on the out-of-time cohort, or on ``importance_max_rows`` sellers
        of it, descending), ``refit_on_all, n_final_train, n_fit_rows`` (labelled sellers the
        final fit used: ``n_final_train`` or a ``train_max_rows`` sample of them), ``n_scored,
        n_explained, warnings``.

    Raises:
        ValueError: missing columns, no labelled sellers, no positive (or negative) labels
            overall or in the training window, invalid labels, no usable features.
    """
    p = params or RiskParams()
    trained = train(features, p)
    scores = score(features, trained, p)
    report = {
        **trained.report,
        "n_scored": len(scores),
        "n_explained": int(scores["top_features"].notna().sum()),
    }
    return scores, report


def train(features: pd.DataFrame, params: RiskParams | None = None) -> TrainedRiskModel:
    """Fit the model out of time, evaluate it on the later cohort, refit (see
    :func:`train_and_score` for the input and the report; errors as there)."""
    p = params or RiskParams()
    with _threads(p):
        return _train(features, p)


def score(
    features: pd.DataFrame,
    trained: TrainedRiskModel,
    params: RiskParams | None = None,
    previous: pd.DataFrame | None = None,
    model_id: str = "",
    explained=None,
) -> pd.DataFrame:
    """Score and explain every seller of ``features`` with a model from :func:`train`.

    ``features`` needs ``seller_id``, ``onboarded_at`` and the model's feature columns (others
    are ignored; ``label`` is not needed). Bands, explanations and threads follow ``params``;
    the model's own features, cut-off and version are used whatever ``params`` says.

    ``previous`` (the :data:`PREVIOUS_COLUMNS` of an earlier result) saves work and changes
    nothing: a seller whose ``model_input_key`` (:func:`model_input_keys` of ``model_id``, the
    registry's name of ``trained``) is the one it had there keeps its score and, when
    explained again, its features and contributions, written with today's values; the others
    are scored and explained. The result is the same as without ``previous``.

    ``explained`` chooses the sellers explained: called with the sellers (sorted) and their
    scores, it returns a boolean mask; by default the ``explain_max_rows`` highest scores (ties:
    the lower ``seller_id`` first). :mod:`governance.detection.risk_night` ranks some sellers'
    new scores with the stored scores of the others that way.

    Raises:
        ValueError: a column the model needs is missing, or a seller appears twice.
    """
    p = params or RiskParams()
    missing = sorted({"seller_id", "onboarded_at", *trained.features} - set(features.columns))
    if missing:
        raise ValueError(
            f"features is missing columns the risk model {trained.model_version} needs: {missing}"
        )
    with _threads(p):
        return _score(features, trained, p, previous, model_id, explained)


def _threads(p: RiskParams):
    if p.n_threads is None:
        return contextlib.nullcontext()
    return threadpool_limits(limits=p.n_threads, user_api="openmp")


def _prepared(features: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Rows sorted by seller and their onboarding times (naive UTC)."""
    if features["seller_id"].duplicated().any():
        raise ValueError("features must have one row per seller_id")
    df = features.sort_values("seller_id", kind="stable").reset_index(drop=True)
    onboarded = pd.to_datetime(df["onboarded_at"], errors="coerce")
    if getattr(onboarded.dt, "tz", None) is not None:
        onboarded = onboarded.dt.tz_convert("UTC").dt.tz_localize(None)
    return df, onboarded


def _median_reference(x: np.ndarray) -> np.ndarray:
    reference = np.nanmedian(x, axis=0)
    return np.where(np.isnan(reference), 0.0, reference)


def _train(features: pd.DataFrame, p: RiskParams) -> TrainedRiskModel:
    """Fit, validate and refit (see :func:`train_and_score`)."""
    missing = sorted({"seller_id", "onboarded_at", "label"} - set(features.columns))
    if missing:
        raise ValueError(f"features is missing required columns: {missing}")
    df, onboarded = _prepared(features)
    label = _labels(df["label"])
    x, names = _feature_matrix(df, p)

    labelled = ~np.isnan(label) & onboarded.notna().to_numpy()
    if not labelled.any():
        raise ValueError("no labelled sellers (label 0 or 1 with an onboarded_at): cannot train")
    if not (label[labelled] == 1).any():
        raise ValueError("no positive labels (label = 1) among labelled sellers: cannot train")

    if p.cutoff is not None:
        cutoff = pd.Timestamp(p.cutoff)
        if cutoff.tzinfo is not None:
            cutoff = cutoff.tz_convert("UTC").tz_localize(None)
    else:
        cutoff = onboarded[labelled].quantile(p.cutoff_quantile, interpolation="lower")
    oot = (onboarded >= cutoff).fillna(False).to_numpy(dtype=bool)
    train = labelled & ~oot
    valid = labelled & oot
    warnings: list[str] = []

    model, n_fit_rows = _fit(
        x[train], label[train], p, f"training window (onboarded before {cutoff})"
    )
    report: dict[str, Any] = {
        "model_version": f"{p.model_name}_{cutoff:%Y%m%d}",
        "cutoff": cutoff,
        "features": names,
        "n_train": int(train.sum()),
        "n_train_positive": int((label[train] == 1).sum()),
        "n_validation": int(valid.sum()),
        "n_validation_positive": int((label[valid] == 1).sum()),
        "validation_base_rate": float(label[valid].mean()) if valid.any() else None,
        "roc_auc": None,
        "average_precision": None,
        "precision_at_1pct": None,
        "precision_at_5pct": None,
        "feature_importance": {},
    }
    reference = _median_reference(x[train])
    if valid.any():
        yv = label[valid]
        sv = model.predict_proba(x[valid])[:, 1]
        report["precision_at_1pct"] = precision_at_k(yv, sv, 0.01)
        report["precision_at_5pct"] = precision_at_k(yv, sv, 0.05)
        if 0 < yv.sum() < len(yv):
            report["roc_auc"] = float(roc_auc_score(yv, sv))
            report["average_precision"] = float(average_precision_score(yv, sv))
        else:
            warnings.append("out-of-time cohort has a single class: AUC / AP undefined")
        valid_rows = _sample_rows(np.flatnonzero(valid), p.importance_max_rows, p.random_state)
        xs = x[valid_rows]
        cv = _contributions(model, xs, reference, model.predict_proba(xs)[:, 1])
        imp = np.abs(cv).mean(axis=0)
        order = np.argsort(-imp, kind="stable")
        report["feature_importance"] = {names[i]: float(imp[i]) for i in order}
    else:
        warnings.append("no labelled sellers on or after the cut-off: nothing to validate on")

    final_train = labelled if p.refit_on_all else train
    if p.refit_on_all and valid.any():
        model, n_fit_rows = _fit(x[final_train], label[final_train], p, "labelled sellers")
        reference = _median_reference(x[final_train])

    report.update(
        {
            "refit_on_all": bool(p.refit_on_all),
            "n_final_train": int(final_train.sum()),
            "n_fit_rows": n_fit_rows,
            "warnings": warnings,
        }
    )
    return TrainedRiskModel(model=model, reference=reference, report=report)


def _score(
    features: pd.DataFrame,
    trained: TrainedRiskModel,
    p: RiskParams,
    previous: pd.DataFrame | None,
    model_id: str,
    explained=None,
) -> pd.DataFrame:
    """Scores, bands and explanations (see :func:`score`)."""
    df, onboarded = _prepared(features)
    x, _ = _feature_matrix(df, replace(p, feature_columns=trained.features))
    oot = (onboarded >= trained.cutoff).fillna(False).to_numpy(dtype=bool)
    keys = model_input_keys(trained.model, x, model_id, p.top_k_features)
    kept, kept_score, kept_top = _kept_rows(df["seller_id"], keys, previous)

    score = kept_score.copy()
    if (~kept).any():
        score[~kept] = trained.model.predict_proba(x[~kept])[:, 1]
    if explained is None:
        explain = np.sort(np.argsort(-score, kind="stable")[: p.explain_max_rows])
    else:
        explain = np.flatnonzero(explained(df["seller_id"].to_numpy(dtype=object), score))
    top = np.full(len(df), None, dtype=object)
    top[explain] = _explanations(trained, x[explain], score[explain], kept_top[explain], p)

    band_idx = np.searchsorted(np.asarray(p.band_thresholds), score, side="right")
    return pd.DataFrame(
        {
            "seller_id": df["seller_id"].to_numpy(),
            "risk_score": score,
            "risk_band": np.asarray(BANDS, dtype=object)[band_idx],
            "model_version": trained.model_version,
            "top_features": top,
            "is_out_of_time": oot,
            "model_input_key": keys,
        }
    )


def _kept_rows(
    seller_id: pd.Series, keys: np.ndarray, previous: pd.DataFrame | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per seller (in the order of ``seller_id``): whether ``previous`` holds its row with the
    same key, and that row's score (NaN otherwise) and ``top_features`` (None otherwise)."""
    n = len(seller_id)
    if previous is None or n == 0:
        return np.zeros(n, dtype=bool), np.full(n, np.nan), np.full(n, None, dtype=object)
    sellers = pd.Index(previous["seller_id"])
    if sellers.has_duplicates:
        raise ValueError("previous must have one row per seller_id")
    row = sellers.get_indexer(seller_id)
    found = row >= 0
    kept = np.zeros(n, dtype=bool)
    kept[found] = previous["model_input_key"].to_numpy(dtype=object)[row[found]] == keys[found]
    at = row[kept]
    kept_score = np.full(n, np.nan)
    kept_score[kept] = previous["risk_score"].to_numpy(dtype=float, na_value=np.nan)[at]
    kept_top = np.full(n, None, dtype=object)
    kept_top[kept] = previous["top_features"].to_numpy(dtype=object)[at]
    return kept, kept_score, kept_top


def _explanations(
    trained: TrainedRiskModel,
    x: np.ndarray,
    score: np.ndarray,
    kept_top: np.ndarray,
    p: RiskParams,
) -> np.ndarray:
    """``top_features`` of the rows of ``x``: a row whose previous text (``kept_top``, written
    for the same model view) parses is written again with its features and contributions and
    today's values; the contributions of the others are computed."""
    names = list(trained.features)
    order, cons_text, parsed = _parse_top(kept_top, names, p.top_k_features)
    top = np.full(len(x), None, dtype=object)
    top[parsed] = _render_top(x[parsed], order[parsed], cons_text[parsed], names)
    fresh = ~parsed
    contrib = _contributions(trained.model, x[fresh], trained.reference, score[fresh])
    top[fresh] = _format_top(x[fresh], contrib, names, p.top_k_features)
    return top
