"""Files generated from the metric registry, and the check that they are current.

``governance metrics generate`` writes them; ``governance metrics check``, ``governance build``
and the test suite compare them with what the registry gives now:

* ``macros/metrics/metric_registry_generated.sql``: the registry as a dbt macro (dbt 1.11
  reads no YAML file of its own; macros/metrics/metric_registry.sql serves it to the models);
* ``seeds/metric_definitions.csv``: the reference table BI tools and the dashboard read;
* ``models/marts/semantic/_semantic__metrics.yml``: the MetricFlow semantic models, measures and
  metrics;
* ``models/marts/governance/_metric_glossary__docs.md``: the glossary doc blocks;
* the metric tables between ``metric-registry`` markers in docs/overview.md and README.md.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from pathlib import Path

import yaml

from governance import settings
from governance.metric_registry import AMOUNT_UNITS, REGISTRY_FILE, Cohort, Metric, Registry, load

MACRO_FILE = "macros/metrics/metric_registry_generated.sql"
SEED_FILE = "seeds/metric_definitions.csv"
SEMANTIC_FILE = "models/marts/semantic/_semantic__metrics.yml"
GLOSSARY_FILE = "models/marts/governance/_metric_glossary__docs.md"
MARKED_FILES = ("docs/overview.md", "README.md")
PROJECT = "marketplace_governance"
HEADER = f"generated from {REGISTRY_FILE} by `governance metrics generate`: do not edit"

# Registry fields the SQL models read (the glossary prose stays out of the compiled project).
SQL_FIELDS = (
    "name",
    "label",
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
    "numerator_actions",
    "cause_delay_var",
)
SEED_COLUMNS = {
    "metric_name": "name",
    "metric_label": "label",
    "cohort": "cohort_description",
    "maturity_days": "maturity_days",
    "outcome_source": "outcome_source",
    "direction_is_good": "direction_is_good",
    "target_value": "target_value",
    "owner": "owner",
    "unit": "unit",
    "window_days": "window_days",
    "count_unit": "count_unit",
    "interval_method": "interval",
    "summary": "summary",
}


class StaleOutputs(RuntimeError):
    """A generated file differs from what the registry gives."""


# --------------------------------------------------------------------------- dbt macro


def _jinja_literal(value) -> str:
    """``value`` as a Jinja expression (JSON's syntax but for true, false and none)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict):
        items = ", ".join(f"{json.dumps(k)}: {_jinja_literal(v)}" for k, v in value.items())
        return "{" + items + "}"
    return "[" + ", ".join(_jinja_literal(v) for v in value) + "]"


def macro_text(registry: Registry) -> str:
    lines = [
        f"{{#- The metric registry for the dbt models, {HEADER}.",
        "    Read it through metric_registry() and its helpers "
        "(macros/metrics/metric_registry.sql). -#}",
        "{% macro metric_registry_generated() -%}",
        "    {{ return([",
    ]
    for metric in registry.metrics:
        fields = {f: _plain(getattr(metric, f)) for f in SQL_FIELDS}
        lines.append(f"        {_jinja_literal(fields)},")
    lines += ["    ]) }}", "{%- endmacro %}", ""]
    return "\n".join(lines)


def _plain(value):
    return dict(value) if hasattr(value, "items") else value


# --------------------------------------------------------------------------- reference seed


def seed_text(registry: Registry) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SEED_COLUMNS)
    for metric in registry.metrics:
        writer.writerow([getattr(metric, attribute) for attribute in SEED_COLUMNS.values()])
    return out.getvalue()


# --------------------------------------------------------------------------- semantic layer


def _amount_column(registry: Registry, cohort: Cohort) -> str | None:
    amounts = {m.amount_column for m in registry.metrics if m.cohort == cohort.name}
    if len(amounts) > 1:
        raise ValueError(f"the metrics of cohort {cohort.name} sum different amounts: {amounts}")
    return next(iter(amounts), None)


def _semantic_model(registry: Registry, cohort: Cohort) -> dict:
    metrics = [m for m in registry.metrics if m.cohort == cohort.name]
    amount = _amount_column(registry, cohort)
    names = " and ".join(f"`{m.name}`" for m in metrics)
    entities = [{"name": cohort.entity["name"], "type": "primary", "expr": cohort.entity["column"]}]
    entities += [
        {"name": name, "type": "foreign", "expr": column}
        for name, column in cohort.foreign_entities.items()
    ]
    dimensions = [
        {
            "name": cohort.date_column,
            "description": cohort.date_description,
            "type": "time",
            "type_params": {"time_granularity": "day"},
        }
    ]
    for name in cohort.dimensions:
        dimension = {
            "name": name,
            "description": cohort.dimension_description(name),
            "type": "categorical",
        }
        if cohort.dimension_column(name) != name:
            dimension["expr"] = cohort.dimension_column(name)
        dimensions.append(dimension)
    denominator = cohort.denominator
    measures = [
        {
            "name": denominator["name"],
            "description": denominator["description"],
            "agg": "sum" if amount else "count",
            "expr": amount or cohort.entity["column"],
        }
    ]
    for metric in metrics:
        counted = metric.amount_column or "1"
        measures.append(
            {
                "name": metric.numerator["name"],
                "description": metric.numerator["description"],
                "agg": "sum",
                "expr": f"case when {metric.flag} then {counted} else 0 end",
            }
        )
    return {
        "name": cohort.name,
        "description": f"{cohort.description} The cohort of {names}.",
        "model": f"ref('{cohort.model}')",
        "defaults": {"agg_time_dimension": cohort.date_column},
        "entities": entities,
        "dimensions": dimensions,
        "measures": measures,
    }


def _simple_metric(part: dict) -> dict:
    return {
        "name": part["name"],
        "label": part["label"],
        "description": part["description"],
        "type": "simple",
        "type_params": {"measure": part["name"]},
    }


def _ratio_metric(registry: Registry, metric: Metric) -> dict:
    meta = {
        "owner": metric.owner,
        "maturity_days": metric.maturity_days,
        "window_days": metric.window_days,
        "unit": metric.unit,
        "count_unit": metric.count_unit,
        "interval": metric.interval,
    }
    return {
        "name": metric.name,
        "label": metric.label,
        "description": f"{{{{ doc('metric_{metric.name}') }}}}",
        "type": "ratio",
        "type_params": {
            "numerator": metric.numerator["name"],
            "denominator": registry.cohort_of(metric).denominator["name"],
        },
        "config": {"meta": meta},
    }


def semantic_text(registry: Registry) -> str:
    used = [
        c for c in registry.cohorts.values() if any(m.cohort == c.name for m in registry.metrics)
    ]
    parts = [c.denominator for c in used] + [m.numerator for m in registry.metrics]
    document = {
        "version": 2,
        "semantic_models": [_semantic_model(registry, c) for c in used],
        "metrics": [_simple_metric(p) for p in parts]
        + [_ratio_metric(registry, m) for m in registry.metrics],
    }
    body = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    intro = (
        f"# The MetricFlow semantic models and metrics of the north-star rates, {HEADER}.\n"
        "# Each rate is a ratio metric over two sum or count measures of its cohort's "
        "record-grain\n"
        "# model: the same arithmetic as metrics_daily.\n"
    )
    return intro + body


# --------------------------------------------------------------------------- glossary


def interval_text(metric: Metric) -> str:
    if metric.interval == "wilson":
        return (
            "Wilson score 95% interval of the binomial proportion numerator / denominator "
            "(z = the dbt var `wilson_z`, 1.959964)."
        )
    amount = f"`{metric.amount_column}`" if metric.amount_column else "1"
    if metric.cluster_column:
        unit, units = (
            f"unit *i* (the records of one `{metric.cluster_column}` on the day and segment, "
            "which share their outcome)",
            "units",
        )
        independence = (
            "It treats units as independent and the flag as unrelated to the amount; a "
            f"`{metric.cluster_column}`'s records on different days of a period are counted as "
            "different units, so period intervals are somewhat too narrow."
        )
    else:
        unit, units = "record *i*", "records"
        independence = "It treats records as independent and the flag as unrelated to the amount."
    return (
        "A ratio of sums, so not a binomial count: Wilson score 95% interval on the Kish "
        f"effective sample size. With `x_i` the amount ({amount}) of {unit} and `p` = "
        "numerator / denominator = Σ flagged `x_i` / Σ `x_i`, "
        "`n_eff = (Σ x_i)² / Σ x_i²` and the bounds are "
        "`(p + z²/(2 n_eff) ± z √(p (1 − p) / n_eff + z² / (4 n_eff²))) / (1 + z² / n_eff)`: "
        f"the Wilson interval of `n_eff` equal {units} (n_eff = their number when all amounts "
        "are equal). Periods and roll-ups sum the numerator, denominator and Σ x_i² first. "
        f"{independence} The anomaly detector judges the day on the same effective counts "
        "(`p · n_eff` of `n_eff`)."
    )


def _count_text(metric: Metric) -> str:
    if metric.count_unit in AMOUNT_UNITS:
        return (
            f"The value is a {metric.unit}; numerator and denominator are sums of "
            f"`{metric.amount_column}`, whole {AMOUNT_UNITS[metric.count_unit][2]} "
            f"(`count_unit` {metric.count_unit})."
        )
    return f"The value is a {metric.unit}; numerator and denominator count {metric.count_unit}."


def _maturity_text(metric: Metric) -> str:
    cohort = metric.cohort_description[0].upper() + metric.cohort_description[1:]
    if metric.maturity_days == 0:
        return f"{cohort}; always mature."
    days = metric.maturity_days
    return f"{cohort}; mature {days} days later (`metric_date + {days} ≤ as_of_date`)."


def glossary_entry(metric: Metric) -> str:
    g = metric.glossary
    better = "lower" if metric.direction_is_good == "down" else "higher"
    paragraphs = [
        f"### {metric.label} (`{metric.name}`)\n**Meaning.** {g['meaning']}",
        f"**Formula.** {g['formula']}",
        f"**Interval.** {interval_text(metric)}",
        f"**Cohort and maturity.** {_maturity_text(metric)}",
        f"**Coverage.** Counts `{metric.outcome_source}`: cohort days before that source's "
        "coverage start are incomplete (`is_complete` false).",
        f"**Segments.** {g['segments']}",
        f"**Unit.** {_count_text(metric)}",
        f"**Target.** {metric.target_value:g} ({better} is better).",
        f"**Owner.** {metric.owner}.",
    ]
    if g.get("caveats"):
        paragraphs.append(f"**Caveats.** {g['caveats']}")
    return _doc_block(f"metric_{metric.name}", "\n\n".join(paragraphs))


def _doc_block(name: str, text: str) -> str:
    return f"{{% docs {name} %}}\n{text.strip()}\n{{% enddocs %}}\n"


def _names(names: Iterable[str]) -> str:
    quoted = [f"`{n}`" for n in names]
    return ", ".join(quoted[:-1]) + f" or {quoted[-1]}" if len(quoted) > 1 else quoted[0]


def glossary_text(registry: Registry) -> str:
    metrics = registry.metrics
    blocks = [
        _doc_block(
            "metric_list",
            "The metrics:\n" + "\n".join(f"- `{m.name}` — {m.summary}" for m in metrics),
        ),
        _doc_block("metric_name", f"Name of the north-star metric: {_names(registry.names)}."),
        _doc_block(
            "maturity_days",
            "Days after the cohort day until the metric's window closes ("
            + ", ".join(f"`{m.name}` {m.maturity_days}" for m in metrics)
            + ").",
        ),
        _doc_block(
            "outcome_source",
            "The raw source whose events put a cohort member in the metric's numerator ("
            + ", ".join(f"`{m.name}`: `{m.outcome_source}`" for m in metrics)
            + "). A cohort day before that source's coverage start (`int_source_coverage`) is "
            "incomplete (`metrics_daily.is_complete`).",
        ),
        *[glossary_entry(m) for m in metrics],
    ]
    return f"{{#- The metric glossary, {HEADER}. -#}}\n\n" + "\n".join(blocks)


# --------------------------------------------------------------------------- marked regions

MARKER = re.compile(
    r"(<!-- metric-registry:(?P<name>[a-z-]+) -->\n).*?(<!-- metric-registry:end -->)", re.S
)


def _metric_link(metric: Metric) -> str:
    return f"[{metric.label}](#!/metric/metric.{PROJECT}.{metric.name})"


def marked_region(registry: Registry, name: str) -> str:
    """The text between a file's `<!-- metric-registry:<name> -->` and end markers."""
    metrics = registry.metrics
    if name == "readme-table":
        rows = [f"| `{m.name}` | {m.summary[0].upper()}{m.summary[1:]} |" for m in metrics]
        return "| metric | what it measures |\n|---|---|\n" + "\n".join(rows) + "\n"
    if name == "overview-questions":
        rows = [f"| {m.glossary['question']} | {_metric_link(m)} | {m.owner} |" for m in metrics]
        return "| Question | Metric | Owner |\n|---|---|---|\n" + "\n".join(rows) + "\n"
    if name == "overview-glossary":
        return "\n".join(f"- {_metric_link(m)} (`{m.name}`): {m.summary}" for m in metrics) + "\n"
    raise ValueError(f"unknown metric-registry marker '{name}'")


def with_marked_regions(text: str, registry: Registry) -> str:
    return MARKER.sub(
        lambda match: match.group(1) + marked_region(registry, match["name"]) + match.group(3),
        text,
    )


# --------------------------------------------------------------------------- all of them


def generated_files(project: Path | None = None, dbt_only: bool = False) -> dict[str, str]:
    """Every generated file's path (relative to the project) and the text it should hold;
    with `dbt_only`, only the files dbt reads (not the marked regions of the docs)."""
    project = Path(project or settings.project_dir())
    registry = load(project)
    files = {
        MACRO_FILE: macro_text(registry),
        SEED_FILE: seed_text(registry),
        SEMANTIC_FILE: semantic_text(registry),
        GLOSSARY_FILE: glossary_text(registry),
    }
    for name in () if dbt_only else MARKED_FILES:
        path = project / name
        if path.exists():
            files[name] = with_marked_regions(path.read_text(), registry)
    return files


def stale_files(project: Path | None = None, dbt_only: bool = False) -> list[str]:
    """The generated files that differ from what the registry gives now."""
    project = Path(project or settings.project_dir())
    return [
        name
        for name, text in generated_files(project, dbt_only).items()
        if not (project / name).exists() or (project / name).read_text() != text
    ]


def write(project: Path | None = None) -> list[str]:
    """Write every stale generated file; returns their paths."""
    project = Path(project or settings.project_dir())
    changed = stale_files(project)
    for name, text in generated_files(project).items():
        if name in changed:
            (project / name).write_text(text)
    return changed


def assert_current(project: Path | None = None, dbt_only: bool = False) -> None:
    """Raise StaleOutputs naming the generated files that differ from the registry."""
    stale = stale_files(project, dbt_only)
    if stale:
        raise StaleOutputs(
            f"{', '.join(stale)} differ from {REGISTRY_FILE}: run `governance metrics generate`"
        )
