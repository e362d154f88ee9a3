"""Detection algorithms on warehouse tables: metric anomalies, seller syndicates, seller risk.

All functions are pure (pandas DataFrame in, DataFrame out), deterministic and independent of
the query engine, so they run the same inside dbt Python models and in notebooks.
"""

from governance.detection.anomaly import AnomalyParams, detect_metric_anomalies
from governance.detection.risk import (
    RiskParams,
    TrainedRiskModel,
    precision_at_k,
    score,
    train,
    train_and_score,
)
from governance.detection.syndicates import (
    SyndicateParams,
    cluster_group,
    detect_syndicates,
    score_values,
    summarize_syndicates,
)

__all__ = [
    "AnomalyParams",
    "RiskParams",
    "SyndicateParams",
    "TrainedRiskModel",
    "cluster_group",
    "detect_metric_anomalies",
    "detect_syndicates",
    "precision_at_k",
    "score",
    "score_values",
    "summarize_syndicates",
    "train",
    "train_and_score",
]
