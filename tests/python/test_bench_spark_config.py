"""The Spark target's configuration stays complete as the project grows (no Spark needed)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

from governance.settings import project_dir

ROOT = project_dir()
REF = re.compile(r"""\bref\(\s*['"]([A-Za-z0-9_]+)['"]\s*\)""")


def _project() -> dict:
    return yaml.safe_load((ROOT / "dbt_project.yml").read_text())


def _enabled(path: Path) -> str | None:
    """The `+enabled` expression dbt_project.yml gives a model file: the deepest one on the way
    from models: down its folders to its own name."""
    node = _project()["models"]["marketplace_governance"]
    enabled = node.get("+enabled")
    for key in (*path.relative_to(ROOT / "models").parent.parts, path.stem):
        node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            break
        enabled = node.get("+enabled", enabled)
    return enabled


def _model_files() -> list[Path]:
    return [p for p in (ROOT / "models").rglob("*") if p.suffix in (".sql", ".py")]


def test_every_model_is_enabled_on_spark_python_models_included():
    # dbt Python models run on the spark target too (governance.spark_session): no model, and
    # no model built on one, may be switched off there.
    switched = {path.stem: _enabled(path) for path in _model_files()}
    assert {name: expr for name, expr in switched.items() if "spark" in str(expr or "")} == {}
    assert "spark_skipped_models" not in _project()["vars"]


def test_dbt_loads_the_plugin_that_runs_python_models_in_the_spark_session():
    # dbt-core initialises the `plugins` of every importable module named dbt_*.
    import pkgutil

    import dbt_governance

    assert "dbt_governance" in {m.name for m in pkgutil.iter_modules()}
    assert [p.__name__ for p in dbt_governance.plugins] == ["SparkSessionPythonModels"]


def test_prepare_run_hook_runs_at_the_start_of_every_run():
    assert "{{ prepare_run() }}" in _project()["on-run-start"]


def test_spark_target_reads_the_salt_from_the_environment_and_works_in_utc():
    profile = yaml.safe_load((ROOT / "profiles.yml").read_text())
    spark = profile["marketplace_governance"]["outputs"]["spark"]
    assert (spark["type"], spark["method"]) == ("spark", "session")
    params = spark["server_side_parameters"]
    assert params["spark.governance.pii_salt"] == "{{ env_var('GOVERNANCE_PII_SALT', '') }}"
    assert params["spark.sql.session.timeZone"] == "UTC"
    # The salt never appears as a literal anywhere in the profile.
    assert "governance-demo-salt" not in (ROOT / "profiles.yml").read_text()


def test_spark_packages_are_an_optional_group_not_a_main_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    spark = project["optional-dependencies"]["spark"]
    assert any(d.startswith("dbt-spark[session]>=1.11,<1.12") for d in spark)
    assert any(d.startswith("pyspark") for d in spark)
    assert not any("spark" in d for d in project["dependencies"])


# Models at raw event grain (one row per listing, order, action, check or appeal).
EVENT_GRAIN_MODELS = {
    "int_listing_segments",
    "int_listing_enforcement_outcomes",
    "fct_completed_orders",
    "int_enforcement_actions_resolved",
    "int_random_listing_checks",
    "int_appeal_resolutions",
}


def test_python_models_read_only_aggregated_or_seller_grain_relations():
    # Python models load their inputs into pandas: raw-grain inputs would not scale.
    for path in (ROOT / "models").rglob("*.py"):
        text = path.read_text()
        assert "dbt.source(" not in text, f"{path.name} reads a raw source"
        raw_grain = {
            name
            for name in REF.findall(text)
            if name.startswith(("stg_", "base_")) or name in EVENT_GRAIN_MODELS
        }
        assert raw_grain == set(), f"{path.name} reads raw-grain relations {sorted(raw_grain)}"
