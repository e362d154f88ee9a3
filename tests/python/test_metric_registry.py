"""The metric registry (metric_registry.yml) is the one place a metric is defined: its rules, the
files generated from it, and no window typed anywhere else."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from governance import metric_outputs, metric_registry, reprocessing, settings
from governance.cli import main
from governance.warehouse import BuildError, assert_metric_outputs_current

PROJECT = settings.project_dir()


def _document() -> dict:
    return yaml.safe_load(metric_registry.registry_path(PROJECT).read_text())


def _metric(document: dict, name: str) -> dict:
    (entry,) = [m for m in document["metrics"] if m["name"] == name]
    return entry


# --------------------------------------------------------------------------- the registry


def test_the_registry_defines_the_seven_north_star_metrics():
    registry = metric_registry.load()
    assert registry.names == (
        "listing_violation_rate",
        "low_quality_listing_rate",
        "bad_seller_onboarding_rate",
        "violation_prevalence",
        "complaint_rate",
        "appeal_overturn_rate",
        "violating_gmv_share",
    )
    share = registry.metric("violating_gmv_share")
    assert (share.amount_column, share.cluster_column, share.count_unit, share.interval) == (
        "gmv_cents",
        "listing_id",
        "usd_cents",
        "wilson_kish",
    )
    assert registry.feeding_metric(share).name == "listing_violation_rate"
    assert registry.feeding_metric("complaint_rate") is None
    assert registry.feeding_metric("appeal_overturn_rate").name == "appeal_overturn_rate"
    assert share.format_count(123456) == "$1,235"
    assert share.format_count(-250) == "-$2"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: _metric(d, "complaint_rate").update(window_days=13),
            "metric complaint_rate: outcome.flag has_complaint_within_14d names a 14-day window "
            "but window_days is 13",
        ),
        (
            lambda d: _metric(d, "violating_gmv_share").update(interval="wilson"),
            "metric violating_gmv_share: a ratio of amount sums needs interval wilson_kish",
        ),
        (
            lambda d: _metric(d, "complaint_rate")["outcome"].update(cluster_column="listing_id"),
            "metric complaint_rate: an outcome.cluster_column needs interval wilson_kish",
        ),
        (
            lambda d: _metric(d, "violating_gmv_share").update(window_days=8),
            "metric violating_gmv_share: window_days must be the window of "
            "listing_violation_rate (7)",
        ),
        (
            lambda d: _metric(d, "complaint_rate").update(maturity="14"),
            "metric complaint_rate: unknown field(s) maturity",
        ),
        (
            lambda d: _metric(d, "complaint_rate").update(cohort="orders"),
            "metric complaint_rate: cohort 'orders' is not in cohorts",
        ),
        (
            lambda d: _metric(d, "complaint_rate")["outcome"].pop("flag"),
            "metric complaint_rate: outcome: missing flag",
        ),
        (
            lambda d: d["metrics"].append(dict(_metric(d, "complaint_rate"))),
            "metrics: a metric name is listed twice",
        ),
    ],
)
def test_a_broken_registry_is_refused_with_the_entry_and_the_field(change, message):
    document = _document()
    change(document)
    with pytest.raises(metric_registry.RegistryError) as error:
        metric_registry.parse(document)
    assert str(error.value).startswith(f"metric_registry.yml: {message}")


# --------------------------------------------------------------------------- generated copies


def test_the_generated_files_are_those_the_registry_gives():
    assert metric_outputs.stale_files(PROJECT) == []


def _project_copy(tmp_path: Path) -> Path:
    """The registry and the files generated from it, in a scratch project."""
    for name in [
        metric_registry.REGISTRY_FILE,
        *metric_outputs.generated_files(PROJECT),
    ]:
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PROJECT / name, target)
    return tmp_path


def test_a_copy_that_drifts_from_the_registry_is_named(tmp_path):
    project = _project_copy(tmp_path)
    assert metric_outputs.stale_files(project) == []
    seed = project / metric_outputs.SEED_FILE
    seed.write_text(seed.read_text().replace(",14,complaints,", ",15,complaints,"))
    registry = project / metric_registry.REGISTRY_FILE
    registry.write_text(registry.read_text().replace("target_value: 0.15", "target_value: 0.12"))
    stale = metric_outputs.stale_files(project)
    # The edited seed, and every file that states the changed target.
    assert stale == [
        metric_outputs.MACRO_FILE,
        metric_outputs.SEED_FILE,
        metric_outputs.GLOSSARY_FILE,
    ]
    with pytest.raises(metric_outputs.StaleOutputs, match="run `governance metrics generate`"):
        metric_outputs.assert_current(project)
    assert sorted(metric_outputs.write(project)) == sorted(stale)
    assert metric_outputs.stale_files(project) == []
    assert (
        "appeal_overturn_rate,Appeal overturn rate"
        in (project / metric_outputs.SEED_FILE).read_text()
    )


def test_the_build_refuses_stale_generated_files(tmp_path, monkeypatch):
    project = _project_copy(tmp_path)
    macro = project / metric_outputs.MACRO_FILE
    macro.write_text(macro.read_text().replace('"window_days": 30', '"window_days": 31'))
    monkeypatch.setattr(settings, "project_dir", lambda: project)
    with pytest.raises(BuildError, match=r"macros/metrics/metric_registry_generated\.sql differ"):
        assert_metric_outputs_current()


def test_metrics_check_reports_stale_files(tmp_path, monkeypatch, capsys):
    project = _project_copy(tmp_path)
    monkeypatch.setattr(settings, "project_dir", lambda: project)
    assert main(["metrics", "--check"]) == 0
    glossary = project / metric_outputs.GLOSSARY_FILE
    glossary.write_text(glossary.read_text().replace("within 14 days", "within 2 weeks"))
    assert main(["metrics", "--check"]) == 1
    assert capsys.readouterr().err.startswith(
        f"error: {metric_outputs.GLOSSARY_FILE} differ from metric_registry.yml"
    )
    assert main(["metrics", "generate"]) == 0
    assert main(["metrics", "--check"]) == 0


def test_the_glossary_states_the_interval_of_a_ratio_of_sums():
    glossary = (PROJECT / metric_outputs.GLOSSARY_FILE).read_text()
    entry = glossary[glossary.index("{% docs metric_violating_gmv_share %}") :]
    entry = entry[: entry.index("{% enddocs %}")]
    assert "**Interval.** A ratio of sums, so not a binomial count" in entry
    assert "Kish effective sample size" in entry
    assert "`n_eff = (Σ x_i)² / Σ x_i²`" in entry
    assert "unit *i* (the records of one `listing_id` on the day and segment" in entry


# --------------------------------------------------------------------------- no other copy

WINDOW_MACROS = {
    "complaint_window_days": "metric_window_days('complaint_rate')",
    "listing_action_window_days": "outcome_model_window_days('int_listing_enforcement_outcomes')",
}
# A number of days typed into SQL: `dateadd('day', 30, ...)` or `interval 14 day`.
LITERAL_DAYS = re.compile(
    r"dateadd\(\s*'day',\s*-?([0-9]+)\s*,|interval\s+'?([0-9]+)'?\s+days?", re.I
)
# Literal day counts that are not a metric's window or maturity, with their reason.
NOT_METRIC_WINDOWS = {
    # The risk model's label matures 30 days after onboarding: its own rule, not the metric's.
    ("models/marts/risk/seller_features.sql", 30),
    # The GMV a seller made in the 30 days before an overturned removal: a strategy's cost.
    ("models/intermediate/strategy/int_strategy_actions_enriched.sql", 30),
}


def test_window_macros_read_the_registry():
    text = (PROJECT / "macros" / "incremental" / "windows.sql").read_text()
    for macro, body in WINDOW_MACROS.items():
        found = re.search(
            rf"{{% macro {macro}\(\) -%}}\s*{{{{ return\((.*?)\) }}}}\s*{{%- endmacro %}}", text
        )
        assert found and found.group(1) == body, macro


def test_no_metric_window_is_typed_into_sql():
    registry = metric_registry.load()
    windows = {d for m in registry.metrics for d in (m.window_days, m.maturity_days)} - {0, 1}
    typed = []
    for folder in ("models", "macros"):
        for path in sorted((PROJECT / folder).rglob("*.sql")):
            relative = path.relative_to(PROJECT).as_posix()
            for match in LITERAL_DAYS.finditer(path.read_text()):
                days = int(match.group(1) or match.group(2))
                if days in windows and (relative, days) not in NOT_METRIC_WINDOWS:
                    typed.append(f"{relative}: {match.group(0)}")
    assert typed == []


def test_the_reprocessing_check_applies_the_registry_complaint_window(monkeypatch):
    assert reprocessing.complaint_window_days() == 14
    assert "interval 14 day" in reprocessing.checks(14)["complaints"]
    registry = metric_registry.load()
    complaint = registry.metric("complaint_rate")
    shorter = type(complaint)(**{**complaint.__dict__, "window_days": 10})
    changed = type(registry)(
        cohorts=registry.cohorts,
        metrics=tuple(shorter if m is complaint else m for m in registry.metrics),
    )
    monkeypatch.setattr(metric_registry, "load", lambda project=None: changed)
    assert reprocessing.complaint_window_days() == 10
    assert (
        "interval 10 day" in reprocessing.checks(reprocessing.complaint_window_days())["complaints"]
    )


def test_no_python_module_keeps_its_own_list_of_metrics():
    names = metric_registry.load().names
    listed = []
    for path in sorted((PROJECT / "python" / "governance").rglob("*.py")):
        text = path.read_text()
        # A tuple, list or set literal naming three or more metrics is a copy of the registry.
        for literal in re.findall(r"[\(\[\{][^\(\)\[\]\{\}]*[\)\]\}]", text):
            if sum(f'"{name}"' in literal for name in names) >= 3:
                listed.append(path.relative_to(PROJECT).as_posix())
    # The pandas peer maps each metric to its own re-implementation, on purpose.
    assert sorted(set(listed)) == ["python/governance/pandas_metrics.py"]
