"""The severity scale and the risk bands are defined once in Python; the dbt project's copies
(accepted values, SQL literals) must not drift from them."""

from __future__ import annotations

import re

import pandas as pd
import pytest
import yaml

from governance import settings
from governance.alerts import assign_incidents
from governance.dashboard import charts, compare
from governance.dashboard.views.seller import BAND_COLOURS
from governance.detection.risk import BANDS
from governance.severity import FLAGGED_SEVERITY_LEVELS, SEVERITY_LEVELS, SEVERITY_RANK

MODELS = settings.project_dir() / "models"


def _accepted_values(model: str, column: str) -> list[str]:
    """The accepted_values of `model.column` in the model's yml."""
    for path in MODELS.rglob("*.yml"):
        for entry in (yaml.safe_load(path.read_text()) or {}).get("models", []):
            if entry["name"] != model:
                continue
            spec = next(c for c in entry["columns"] if c["name"] == column)
            for test in spec.get("data_tests", []):
                if isinstance(test, dict) and "accepted_values" in test:
                    return list(test["accepted_values"]["arguments"]["values"])
            raise AssertionError(f"{model}.{column} has no accepted_values test")
    raise AssertionError(f"no yml describes {model}")


def test_scale_ranks_levels_by_position():
    assert SEVERITY_LEVELS == ("none", "low", "medium", "high", "critical")
    assert [SEVERITY_RANK[level] for level in SEVERITY_LEVELS] == [0, 1, 2, 3, 4]
    assert SEVERITY_LEVELS[1:] == FLAGGED_SEVERITY_LEVELS


@pytest.mark.parametrize(
    ("model", "column", "expected"),
    [
        ("metric_anomalies", "severity", SEVERITY_LEVELS),
        ("alerts", "severity", FLAGGED_SEVERITY_LEVELS),
        ("seller_risk_scores", "risk_band", BANDS),
    ],
)
def test_yml_accepted_values_match_python(model, column, expected):
    assert _accepted_values(model, column) == list(expected)


def test_alert_and_anomaly_sql_names_no_severity_level():
    """The SQL takes the level's name from the detector's output, never from its own list."""
    levels = "|".join(FLAGGED_SEVERITY_LEVELS)
    quoted = re.compile(rf"'(?:{levels})'")
    paths = [p for p in MODELS.rglob("*.sql") if re.search(r"alert|anomal", p.name)]
    assert paths
    offenders = [str(p.relative_to(MODELS)) for p in paths if quoted.search(p.read_text())]
    assert offenders == []


def test_readers_follow_the_scale():
    assert list(charts.SEVERITY_SIZE) == list(FLAGGED_SEVERITY_LEVELS)
    assert compare.SEVERITY_RANK is SEVERITY_RANK
    assert set(BAND_COLOURS) == set(BANDS)


def test_assign_incidents_rank_each_level_by_the_scale():
    days = pd.date_range("2026-01-01", periods=len(FLAGGED_SEVERITY_LEVELS))
    anomalies = pd.DataFrame(
        {
            "metric_name": "listing_violation_rate",
            "region": "ALL",
            "category": "ALL",
            "metric_date": days,
            "is_anomaly": True,
            "severity": list(FLAGGED_SEVERITY_LEVELS),
            "direction": "up",
            "value": 2.0,
            "expected_value": 1.0,
            "anomaly_score": 5.0,
        }
    )
    out = assign_incidents(anomalies)
    assert dict(zip(out["severity"], out["severity_rank"], strict=True)) == {
        level: SEVERITY_RANK[level] for level in FLAGGED_SEVERITY_LEVELS
    }


def test_assign_incidents_reject_a_level_outside_the_scale():
    anomalies = pd.DataFrame(
        {
            "metric_name": ["listing_violation_rate"],
            "region": ["ALL"],
            "category": ["ALL"],
            "metric_date": [pd.Timestamp("2026-01-01")],
            "is_anomaly": [True],
            "severity": ["severe"],
            "direction": ["up"],
        }
    )
    with pytest.raises(ValueError, match=r"unknown levels \['severe'\]"):
        assign_incidents(anomalies)
