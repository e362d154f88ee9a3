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
    adjusted_rand,
    detect_syndicates,
    naive_connected_components,
    pairwise_prf,
    summarize_syndicates,
)

__all__ = [
    "AnomalyParams",
    "RiskParams",
    "SyndicateParams",
    "TrainedRiskModel",
    "adjusted_rand",
    "detect_metric_anomalies",
    "detect_syndicates",
    "naive_connected_components",
    "pairwise_prf",
    "precision_at_k",
    "score",
    "summarize_syndicates",
    "train",
    "train_and_score",
]
