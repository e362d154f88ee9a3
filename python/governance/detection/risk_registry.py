"""Trained seller risk models kept in the warehouse: retrain on a cadence, score every build.

Training the risk model is most of its cost; the sellers' features change every night, the
relationship between features and outcomes does not. So the model is trained at most every
``retrain_days`` days (the dbt var ``risk_retrain_days``, 7 by default) and each build scores
every seller with the model in force:

* :func:`registry_row` turns a :class:`~governance.detection.risk.TrainedRiskModel` into one row
  of the registry table ``seller_risk_models``: its version, the reporting day it was trained on,
  why, its out-of-time evaluation, and the fitted model itself (pickled, base64 text).
* :func:`model_in_force` picks the model a build uses: the latest trained on or before the
  build's reporting day (a build that reproduces an earlier day never scores with a model that
  saw later data).
* :func:`retrain_reason` says whether a build must train a new model first, and why: none in
  force yet, retraining every build (``retrain_days`` 0), the model in force is ``retrain_days``
  or more days old, its training parameters, scikit-learn version or input columns changed.

The model is stored with :mod:`pickle`: load registries only from warehouses this project built.
"""

from __future__ import annotations

import base64
import hashlib
import json
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import date
from typing import Any

import pandas as pd
import pyarrow as pa
import sklearn

from governance.detection.risk import RiskParams, TrainedRiskModel

# Version of what model_pickle holds (TrainedRiskModel) and of the features it is trained on
# (governance.detection.risk_features); part of the training fingerprint, so a change to either
# retrains instead of scoring with a model that expects other inputs. 2: tenure as tenure_band.
MODEL_FORMAT = 2
# Settings of RiskParams that change the fitted model (the others only change scoring).
TRAINING_FIELDS = (
    "feature_columns",
    "cutoff",
    "cutoff_quantile",
    "refit_on_all",
    "max_iter",
    "learning_rate",
    "max_leaf_nodes",
    "min_samples_leaf",
    "l2_regularization",
    "random_state",
    "train_max_rows",
    "importance_max_rows",
    "model_name",
)
REPORT_COLUMNS = (
    "n_train",
    "n_train_positive",
    "n_validation",
    "n_validation_positive",
    "validation_base_rate",
    "roc_auc",
    "average_precision",
    "precision_at_1pct",
    "precision_at_5pct",
    "n_final_train",
    "n_fit_rows",
)
# Everything but the model itself: what auditing a model needs.
METADATA_COLUMNS = (
    "model_id",
    "model_version",
    "trained_on",
    "trained_because",
    "cutoff",
    "training_fingerprint",
    "sklearn_version",
    "input_columns",
    "features",
    *REPORT_COLUMNS,
    "feature_importance",
    "warnings",
)
REGISTRY_COLUMNS = (*METADATA_COLUMNS, "model_pickle")
# What choosing the model in force and deciding to retrain read. The registry outlives
# rebuilds, so a table written by an earlier version may lack a column added since: builds read
# only these columns, and a newly added column is appended (old models keep null in it).
SELECTION_COLUMNS = (
    "model_id",
    "trained_on",
    "training_fingerprint",
    "sklearn_version",
    "input_columns",
)
# Column types of the registry, the same whether or not a build trains (a build that trains
# nothing writes no rows, yet the types of its columns decide those of a column it appends).
REGISTRY_DTYPES: dict[str, Any] = {
    **{column: "string" for column in REGISTRY_COLUMNS},
    "trained_on": pd.ArrowDtype(pa.date32()),
    "cutoff": "datetime64[us]",
    **{c: "Int64" if c.startswith("n_") else "Float64" for c in REPORT_COLUMNS},
}


def training_fingerprint(params: RiskParams) -> str:
    """A short hash of the settings that change the fitted model (and the model format)."""
    settings = {name: asdict(params)[name] for name in TRAINING_FIELDS}
    settings["model_format"] = MODEL_FORMAT
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _day(value: Any) -> date:
    return pd.Timestamp(value).date()


def model_in_force(registry: pd.DataFrame, as_of_date: Any) -> Mapping[str, Any] | None:
    """The row of the latest model trained on or before ``as_of_date`` (ties: the greatest
    ``model_id``), or None when there is none."""
    if registry.empty:
        return None
    trained_on = pd.to_datetime(registry["trained_on"]).dt.normalize()
    eligible = (trained_on <= pd.Timestamp(_day(as_of_date))).to_numpy(dtype=bool)
    if not eligible.any():
        return None
    candidates = registry[eligible].assign(_trained_on=trained_on[eligible])
    latest = candidates.sort_values(["_trained_on", "model_id"]).iloc[-1]
    return latest.drop(labels="_trained_on").to_dict()


def retrain_reason(
    in_force: Mapping[str, Any] | None,
    as_of_date: Any,
    input_columns: Sequence[str],
    params: RiskParams,
    retrain_days: int | str,
) -> str | None:
    """Why this build must train a new model, or None when the model in force still serves.

    Args:
        in_force: the registry row of the model in force (:func:`model_in_force`), or None.
        as_of_date: the build's reporting day.
        input_columns: the columns of the feature table the model is trained from.
        params: this build's settings.
        retrain_days: retrain once the model in force is this many days old; 0 retrains every
            build (a whole number, or its text as dbt vars give it).

    Raises:
        ValueError: ``retrain_days`` is not a whole number of days >= 0.
    """
    text = str(retrain_days).strip()
    if isinstance(retrain_days, bool) or not text.isdigit():
        raise ValueError(
            f"var risk_retrain_days must be a whole number of days >= 0, got {retrain_days!r}"
        )
    retrain_days = int(text)
    if in_force is None:
        return f"no model trained on or before {_day(as_of_date)}"
    if retrain_days == 0:
        return "risk_retrain_days is 0: a new model every build"
    if in_force["training_fingerprint"] != training_fingerprint(params):
        return "the training parameters or the model format changed"
    if in_force["sklearn_version"] != sklearn.__version__:
        return f"scikit-learn changed from {in_force['sklearn_version']} to {sklearn.__version__}"
    before, now = set(json.loads(in_force["input_columns"])), set(input_columns)
    if before != now:
        added, removed = sorted(now - before), sorted(before - now)
        return f"the feature table's columns changed (added {added}, removed {removed})"
    age = (_day(as_of_date) - _day(in_force["trained_on"])).days
    if age >= retrain_days:
        return (
            f"the model trained on {_day(in_force['trained_on'])} is {age} days old "
            f"(retrained every {retrain_days})"
        )
    return None


def registry_row(
    trained: TrainedRiskModel,
    trained_on: Any,
    trained_because: str,
    input_columns: Sequence[str],
    params: RiskParams,
) -> pd.DataFrame:
    """The registry's row for a newly trained model (columns :data:`REGISTRY_COLUMNS`)."""
    day = _day(trained_on)
    report = trained.report
    row: dict[str, Any] = {
        "model_id": f"{trained.model_version}_trained_{day:%Y%m%d}",
        "model_version": trained.model_version,
        "trained_on": day,
        "trained_because": trained_because,
        "cutoff": pd.Timestamp(trained.cutoff),
        "training_fingerprint": training_fingerprint(params),
        "sklearn_version": sklearn.__version__,
        "input_columns": json.dumps(sorted(input_columns)),
        "features": json.dumps(list(trained.features)),
    }
    for column in REPORT_COLUMNS:
        row[column] = report.get(column)
    row["feature_importance"] = json.dumps(report.get("feature_importance", {}))
    row["warnings"] = json.dumps(report.get("warnings", []))
    row["model_pickle"] = base64.b64encode(pickle.dumps(trained)).decode("ascii")
    return pd.DataFrame([row], columns=list(REGISTRY_COLUMNS)).astype(REGISTRY_DTYPES)


def no_new_model() -> pd.DataFrame:
    """The registry rows of a build that trains nothing: none (typed as a trained row)."""
    return pd.DataFrame(columns=list(REGISTRY_COLUMNS)).astype(REGISTRY_DTYPES)


def load_model(model_pickle: str) -> TrainedRiskModel:
    """The model stored in a registry row's ``model_pickle``."""
    trained = pickle.loads(base64.b64decode(model_pickle))  # noqa: S301 - our own registry
    if not isinstance(trained, TrainedRiskModel):
        raise ValueError(
            f"seller_risk_models.model_pickle holds a {type(trained).__name__}, "
            "not a trained risk model"
        )
    return trained
