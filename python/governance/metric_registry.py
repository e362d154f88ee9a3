"""The metric registry (``metric_registry.yml``): the one place a north-star metric is defined.

:func:`load` reads and checks the file; everything in the package that needs a metric's name,
window, interval type, units or wording asks the :class:`Registry` it returns. The files dbt and
MetricFlow read are generated from the same file (:mod:`governance.metric_outputs`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from governance import settings

REGISTRY_FILE = "metric_registry.yml"
INTERVALS = ("wilson", "wilson_kish")
DIRECTIONS = ("down", "up")
VIA = ("action", "appeal", "metric")
NAME = re.compile(r"[a-z][a-z0-9_]*")
# The integer amount units a metric can sum: how an amount is shown (symbol, units per symbol)
# and what one unit is called.
AMOUNT_UNITS = {"usd_cents": ("$", 100, "US cents")}


class RegistryError(ValueError):
    """metric_registry.yml breaks a rule; the message names the entry and the field."""


@dataclass(frozen=True)
class Cohort:
    """A record-grain population (a MetricFlow semantic model over ``model``)."""

    name: str
    description: str
    model: str
    entity: Mapping[str, str]
    foreign_entities: Mapping[str, str]
    date_column: str
    date_description: str
    # name -> description, or name -> {description, column} for a dimension over a column of
    # another name (the order fact's per-metric maturity flags).
    dimensions: Mapping[str, str | Mapping[str, str]]
    denominator: Mapping[str, str]

    def dimension_column(self, name: str) -> str:
        """The column of `model` the dimension `name` reads."""
        entry = self.dimensions[name]
        return entry["column"] if isinstance(entry, Mapping) else name

    def dimension_description(self, name: str) -> str:
        entry = self.dimensions[name]
        return entry["description"] if isinstance(entry, Mapping) else entry


@dataclass(frozen=True)
class Metric:
    """One north-star metric (see the comments of metric_registry.yml for the fields)."""

    name: str
    label: str
    summary: str
    cohort: str
    cohort_description: str
    outcome: Mapping[str, str]
    window_days: int
    maturity_days: int
    direction_is_good: str
    target_value: float
    owner: str
    unit: str
    count_unit: str
    interval: str
    numerator: Mapping[str, str]
    glossary: Mapping[str, str]
    numerator_actions: Mapping[str, Any] | None = None
    alert_words: Mapping[str, str] | None = None
    cause_delay_var: str | None = None

    @property
    def outcome_model(self) -> str:
        return self.outcome["model"]

    @property
    def flag(self) -> str:
        return self.outcome["flag"]

    @property
    def date_column(self) -> str:
        return self.outcome["date_column"]

    @property
    def outcome_source(self) -> str:
        return self.outcome["source"]

    @property
    def amount_column(self) -> str | None:
        return self.outcome.get("amount_column")

    @property
    def cluster_column(self) -> str | None:
        """Records with one value of this column share their outcome (None: independent)."""
        return self.outcome.get("cluster_column")

    @property
    def is_amount(self) -> bool:
        """Numerator and denominator are sums of an integer amount, not record counts."""
        return self.amount_column is not None

    @property
    def feeds_via(self) -> str | None:
        """How enforcement actions reach the numerator: `action`, `appeal`, `metric` or None."""
        return (self.numerator_actions or {}).get("via")

    def format_count(self, value: float) -> str:
        """A numerator or denominator (or a difference of them) as a reader reads it."""
        if self.count_unit in AMOUNT_UNITS:
            symbol, per_unit, _ = AMOUNT_UNITS[self.count_unit]
            sign = "-" if value < 0 else ""
            return f"{sign}{symbol}{abs(value) / per_unit:,.0f}"
        return f"{value:.0f}"


@dataclass(frozen=True)
class Registry:
    cohorts: Mapping[str, Cohort]
    metrics: tuple[Metric, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.metrics)

    def metric(self, name: str) -> Metric:
        for metric in self.metrics:
            if metric.name == name:
                return metric
        raise KeyError(f"{name} is not a metric of {REGISTRY_FILE}")

    def cohort_of(self, metric: Metric | str) -> Cohort:
        metric = self.metric(metric) if isinstance(metric, str) else metric
        return self.cohorts[metric.cohort]

    def feeding_metric(self, metric: Metric | str) -> Metric | None:
        """The metric whose counted actions put records in this one's numerator: itself for
        `action` and `appeal`, the named metric for `via: metric`, None without actions."""
        metric = self.metric(metric) if isinstance(metric, str) else metric
        if metric.feeds_via == "metric":
            return self.metric(metric.numerator_actions["metric"])
        return metric if metric.feeds_via else None


def registry_path(project: Path | None = None) -> Path:
    return Path(project or settings.project_dir()) / REGISTRY_FILE


def load(project: Path | None = None) -> Registry:
    """The registry of the project (default: this checkout), checked; read again when the
    file changes."""
    path = registry_path(project).resolve()
    return _load_cached(path, path.stat().st_mtime_ns)


@cache
def _load_cached(path: Path, modified_ns: int) -> Registry:
    return parse(yaml.safe_load(path.read_text()), path.name)


# --------------------------------------------------------------------------- checking


def _fail(where: str, message: str) -> None:
    raise RegistryError(f"{REGISTRY_FILE}: {where}: {message}")


def _require(entry: Mapping[str, Any], where: str, *fields: str) -> None:
    missing = [f for f in fields if entry.get(f) in (None, "")]
    if missing:
        _fail(where, f"missing {', '.join(missing)}")


def _cohort(name: str, entry: Mapping[str, Any]) -> Cohort:
    where = f"cohort {name}"
    _require(entry, where, "description", "model", "entity", "date_column", "denominator")
    _require(entry["entity"], f"{where}: entity", "name", "column")
    _require(entry["denominator"], f"{where}: denominator", "name", "label", "description")
    for dimension, value in (entry.get("dimensions") or {}).items():
        if isinstance(value, Mapping):
            _require(value, f"{where}: dimension {dimension}", "description", "column")
    return Cohort(
        name=name,
        description=str(entry["description"]).strip(),
        model=entry["model"],
        entity=dict(entry["entity"]),
        foreign_entities=dict(entry.get("foreign_entities") or {}),
        date_column=entry["date_column"],
        date_description=str(entry.get("date_description") or "The cohort day."),
        dimensions=dict(entry.get("dimensions") or {}),
        denominator=dict(entry["denominator"]),
    )


METRIC_FIELDS = (
    "name",
    "label",
    "summary",
    "cohort",
    "cohort_description",
    "outcome",
    "window_days",
    "maturity_days",
    "direction_is_good",
    "target_value",
    "owner",
    "unit",
    "count_unit",
    "interval",
    "numerator",
    "glossary",
)
OPTIONAL_FIELDS = ("numerator_actions", "alert_words", "cause_delay_var")


def _metric(entry: Mapping[str, Any], cohorts: Mapping[str, Cohort]) -> Metric:
    name = str(entry.get("name") or "")
    where = f"metric {name or '(no name)'}"
    if not NAME.fullmatch(name):
        _fail(where, "name must be lower_snake_case")
    _require(entry, where, *[f for f in METRIC_FIELDS if f not in ("window_days", "maturity_days")])
    unknown = sorted(set(entry) - set(METRIC_FIELDS) - set(OPTIONAL_FIELDS))
    if unknown:
        _fail(where, f"unknown field(s) {', '.join(unknown)}")
    _require(entry["outcome"], f"{where}: outcome", "model", "key", "date_column", "flag", "source")
    _require(entry["outcome"], f"{where}: outcome", "started_at_column")
    _require(entry["numerator"], f"{where}: numerator", "name", "label", "description")
    _require(entry["glossary"], f"{where}: glossary", "question", "meaning", "formula", "segments")
    if entry["cohort"] not in cohorts:
        _fail(where, f"cohort '{entry['cohort']}' is not in cohorts")
    for field in ("window_days", "maturity_days"):
        if not isinstance(entry.get(field), int) or not 0 <= entry[field] <= 365:
            _fail(where, f"{field} must be a whole number of days between 0 and 365")
    if entry["interval"] not in INTERVALS:
        _fail(where, f"interval must be one of {', '.join(INTERVALS)}")
    if entry["direction_is_good"] not in DIRECTIONS:
        _fail(where, f"direction_is_good must be one of {', '.join(DIRECTIONS)}")
    amount = entry["outcome"].get("amount_column")
    if (amount is not None) != (entry["count_unit"] in AMOUNT_UNITS):
        _fail(
            where,
            f"an outcome.amount_column needs an amount count_unit ({', '.join(AMOUNT_UNITS)})",
        )
    if amount is not None and entry["interval"] != "wilson_kish":
        _fail(where, "a ratio of amount sums needs interval wilson_kish")
    if entry["outcome"].get("cluster_column") and entry["interval"] != "wilson_kish":
        _fail(where, "an outcome.cluster_column needs interval wilson_kish")
    _check_flag_window(entry, where)
    rule = entry.get("numerator_actions")
    if rule is not None and rule.get("via") not in VIA:
        _fail(where, f"numerator_actions.via must be one of {', '.join(VIA)}")
    return Metric(
        **{f: entry[f] for f in METRIC_FIELDS if f not in ("outcome", "numerator", "glossary")},
        outcome=dict(entry["outcome"]),
        numerator=dict(entry["numerator"]),
        glossary={k: str(v).strip() for k, v in entry["glossary"].items()},
        **{f: entry.get(f) for f in OPTIONAL_FIELDS},
    )


def _check_flag_window(entry: Mapping[str, Any], where: str) -> None:
    """A flag whose name states a window (`..._within_7d`) must state the registry's."""
    stated = re.search(r"_within_([0-9]+)d$", entry["outcome"]["flag"])
    if stated and int(stated.group(1)) != entry["window_days"]:
        _fail(
            where,
            f"outcome.flag {entry['outcome']['flag']} names a {stated.group(1)}-day window "
            f"but window_days is {entry['window_days']}",
        )


def _check_references(registry: Registry) -> None:
    names = set(registry.names)
    if len(names) != len(registry.metrics):
        _fail("metrics", "a metric name is listed twice")
    for metric in registry.metrics:
        rule = metric.numerator_actions or {}
        if rule.get("via") == "metric":
            base = rule.get("metric")
            if base not in names or registry.metric(base).feeds_via not in ("action", "appeal"):
                _fail(
                    f"metric {metric.name}",
                    "numerator_actions.metric must name a metric whose own actions count",
                )
            if not rule.get("link_column"):
                _fail(f"metric {metric.name}", "numerator_actions needs a link_column")
            if metric.window_days != registry.metric(base).window_days:
                window = registry.metric(base).window_days
                _fail(
                    f"metric {metric.name}",
                    f"window_days must be the window of {base} ({window}), whose outcome its "
                    "numerator reads",
                )
    measures = [m.numerator["name"] for m in registry.metrics]
    measures += [c.denominator["name"] for c in registry.cohorts.values()]
    if len(set(measures)) != len(measures) or set(measures) & names:
        _fail(
            "metrics",
            "numerator and denominator names must differ from each other and from metrics",
        )


def parse(document: Mapping[str, Any], source: str = REGISTRY_FILE) -> Registry:
    """A Registry from the parsed YAML document, or RegistryError naming what is wrong."""
    if not isinstance(document, Mapping) or not document.get("metrics"):
        _fail(source, "needs a `metrics` list and a `cohorts` mapping")
    cohorts = {
        name: _cohort(name, entry) for name, entry in (document.get("cohorts") or {}).items()
    }
    metrics = tuple(_metric(entry, cohorts) for entry in document["metrics"])
    registry = Registry(cohorts=cohorts, metrics=metrics)
    _check_references(registry)
    return registry
