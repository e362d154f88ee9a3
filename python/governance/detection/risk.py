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
  200k; about one prediction per seller and non-median feature); the others get a null.
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
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score, roc_auc_score
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
]
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
    model, x: np.ndarray, reference: np.ndarray, base: np.ndarray, batch_rows=200_000
):
    """Per row and feature: ``base`` (the rows' scores) minus the score with that feature set
    to its reference value.

    Rows whose value already equals the reference contribute exactly zero and are skipped, so
    sparse count and indicator features cost little.
    """
    n, f = x.shape
    out = np.zeros((n, f))
    for j in range(f):
        same = (x[:, j] == reference[j]) | (np.isnan(x[:, j]) & np.isnan(reference[j]))
        rows = np.flatnonzero(~same)
        for lo in range(0, rows.size, batch_rows):
            r = rows[lo : lo + batch_rows]
            xr = x[r].copy()
            xr[:, j] = reference[j]
            out[r, j] = base[r] - model.predict_proba(xr)[:, 1]
    return out


def _format_top(x: np.ndarray, contrib: np.ndarray, names: list[str], k: int) -> np.ndarray:
    if x.shape[0] == 0:
        return np.empty(0, dtype=object)
    k = min(k, len(names))
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :k]
    vals = np.take_along_axis(x, order, axis=1)
    cons = np.take_along_axis(contrib, order, axis=1)
    names_arr = np.asarray(names, dtype=object)
    parts = []
    for j in range(k):
        v = pd.Series(vals[:, j]).map(lambda z: "null" if np.isnan(z) else f"{z:.4g}")
        c = pd.Series(cons[:, j]).map(lambda z: f"{z:+.3f}")
        parts.append(
            names_arr[order[:, j]] + "=" + v.to_numpy(object) + " (" + c.to_numpy(object) + ")"
        )
    out = parts[0]
    for p in parts[1:]:
        out = out + "; " + p
    return out


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
    features: pd.DataFrame, trained: TrainedRiskModel, params: RiskParams | None = None
) -> pd.DataFrame:
    """Score and explain every seller of ``features`` with a model from :func:`train`.

    ``features`` needs ``seller_id``, ``onboarded_at`` and the model's feature columns (others
    are ignored; ``label`` is not needed). Bands, explanations and threads follow ``params``;
    the model's own features, cut-off and version are used whatever ``params`` says.

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
        return _score(features, trained, p)


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


def _score(features: pd.DataFrame, trained: TrainedRiskModel, p: RiskParams) -> pd.DataFrame:
    """Scores, bands and explanations (see :func:`score`)."""
    df, onboarded = _prepared(features)
    names = list(trained.features)
    x, _ = _feature_matrix(df, replace(p, feature_columns=trained.features))
    oot = (onboarded >= trained.cutoff).fillna(False).to_numpy(dtype=bool)

    score = trained.model.predict_proba(x)[:, 1] if len(df) else np.empty(0)
    explain = np.argsort(-score, kind="stable")[: p.explain_max_rows]
    explain = np.sort(explain)
    contrib = _contributions(trained.model, x[explain], trained.reference, score[explain])
    top = np.full(len(df), None, dtype=object)
    top[explain] = _format_top(x[explain], contrib, names, p.top_k_features)

    band_idx = np.searchsorted(np.asarray(p.band_thresholds), score, side="right")
    return pd.DataFrame(
        {
            "seller_id": df["seller_id"].to_numpy(),
            "risk_score": score,
            "risk_band": np.asarray(BANDS, dtype=object)[band_idx],
            "model_version": trained.model_version,
            "top_features": top,
            "is_out_of_time": oot,
        }
    )
