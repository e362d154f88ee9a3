"""The project's structure rules (dbt-project-evaluator's, as the developers' guide states them),
checked over the manifest `dbt parse` writes. Not a test module: test_project_rules.py runs the
rules over the project and over small hand-made manifests.

Each rule returns {(rule name, model name): what is wrong}. A deliberate departure is listed with
its reason in tests/dbt_project_evaluator_exceptions.yml.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import PurePosixPath

#: Layers from the bottom up; a model reads the layers below its own (and its own, except
#: staging: base -> stg is the one step inside staging).
LAYERS = ("base", "staging", "intermediate", "marts")
MAX_PARENTS = 7
#: The tests that make a primary key: unique and not_null on one column, or a unique combination.
#: The project's count-based key test counts as a combination: one_row_per_raw_row (a base
#: model's key (source_file, file_row_number), numbered by the raw read).
UNIQUE_TESTS = {"unique"}
NOT_NULL_TESTS = {"not_null"}
COMBINATION_TESTS = {
    "unique_key_combination",
    "unique_combination_of_columns",
    "one_row_per_raw_row",
}


def models(manifest: dict) -> dict[str, dict]:
    """The project's own models by unique id."""
    project = manifest["metadata"].get("project_name")
    return {
        uid: node
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["package_name"] == project
    }


def layer(node: dict) -> str:
    """base, staging, intermediate or marts, from the model's folder under models/."""
    parts = PurePosixPath(node["original_file_path"]).parts
    if len(parts) < 3 or parts[0] != "models":
        return "other"
    if parts[1] == "staging":
        return "base" if "base" in parts[2:-1] else "staging"
    return parts[1] if parts[1] in LAYERS else "other"


def _parents(node: dict) -> list[str]:
    return sorted(set(node["depends_on"]["nodes"]))


def _name(uid: str, manifest: dict) -> str:
    if uid in manifest.get("sources", {}):
        source = manifest["sources"][uid]
        return f"source {source['source_name']}.{source['name']}"
    return uid.split(".")[-1]


def rule_layers(manifest: dict) -> dict[tuple[str, str], str]:
    """Models outside the layer folders; source() outside base models; staging models that read
    staging models; models that read a layer above their own (marts read by intermediate or
    staging models, say)."""
    found: dict[tuple[str, str], str] = {}
    nodes = models(manifest)
    for node in nodes.values():
        own = layer(node)
        if own == "other":
            found[("model_outside_layers", node["name"])] = node["original_file_path"]
            continue
        sources = [p for p in _parents(node) if p.startswith("source.")]
        if sources and own != "base":
            found[("source_outside_base", node["name"])] = ", ".join(
                _name(p, manifest) for p in sources
            )
        parents = [nodes[p] for p in _parents(node) if p in nodes]
        same = [p["name"] for p in parents if own == "staging" and layer(p) == "staging"]
        if same:
            found[("staging_reads_staging", node["name"])] = ", ".join(same)
        higher = [
            p["name"]
            for p in parents
            if layer(p) in LAYERS and LAYERS.index(layer(p)) > LAYERS.index(own)
        ]
        if higher:
            found[("reads_higher_layer", node["name"])] = ", ".join(higher)
    return found


def rule_parents(manifest: dict) -> dict[tuple[str, str], str]:
    """Models with more than MAX_PARENTS direct parents (models, seeds and sources)."""
    found = {}
    for node in models(manifest).values():
        parents = _parents(node)
        if len(parents) > MAX_PARENTS:
            found[("too_many_parents", node["name"])] = f"{len(parents)} parents"
    return found


def _tests_by_model(manifest: dict) -> dict[str, list[dict]]:
    tests = defaultdict(list)
    for node in manifest["nodes"].values():
        if node["resource_type"] == "test" and node.get("attached_node"):
            tests[node["attached_node"]].append(node)
    return tests


def rule_primary_keys(manifest: dict) -> dict[tuple[str, str], str]:
    """Models without a primary-key test: `unique` and `not_null` (a data test or an enforced
    not_null / primary_key constraint) on one column, or a unique combination of columns."""
    found = {}
    tests = _tests_by_model(manifest)
    for uid, node in models(manifest).items():
        unique, not_null, combination = set(), set(), False
        for test in tests[uid]:
            name = (test.get("test_metadata") or {}).get("name")
            if name in UNIQUE_TESTS and test.get("column_name"):
                unique.add(test["column_name"])
            elif name in NOT_NULL_TESTS and test.get("column_name"):
                not_null.add(test["column_name"])
            elif name in COMBINATION_TESTS:
                combination = True
        if node["config"].get("contract", {}).get("enforced"):
            for column in node["columns"].values():
                kinds = {c["type"] for c in column.get("constraints", [])}
                if kinds & {"not_null", "primary_key"}:
                    not_null.add(column["name"])
        if not combination and not unique & not_null:
            unique_on, not_null_on = sorted(unique) or "nothing", sorted(not_null) or "nothing"
            found[("missing_primary_key_test", node["name"])] = (
                f"unique on {unique_on}, not_null on {not_null_on}"
            )
    return found


def rule_documentation(manifest: dict) -> dict[tuple[str, str], str]:
    """Models without a description, or outside any property file; property-file columns
    without a description. (Columns built but not in the property file: the built-warehouse
    test in test_warehouse.py.)"""
    found = {}
    for node in models(manifest).values():
        if not node.get("patch_path") or not node["description"].strip():
            found[("undocumented_model", node["name"])] = "no description"
        blank = [c for c, col in node["columns"].items() if not col["description"].strip()]
        if blank:
            found[("undocumented_column", node["name"])] = ", ".join(sorted(blank))
    return found


def rule_folders(manifest: dict) -> dict[tuple[str, str], str]:
    """Every model sits in a domain folder (models/<layer>/<domain>/...) and is documented in
    the one property file of its own folder."""
    found = {}
    by_folder: dict[PurePosixPath, set[str]] = defaultdict(set)
    for node in models(manifest).values():
        path = PurePosixPath(node["original_file_path"])
        if len(path.parts) < 4:
            found[("model_not_in_domain_folder", node["name"])] = str(path)
        patch = node.get("patch_path")
        if not patch:
            continue
        patch_path = PurePosixPath(patch.split("://", 1)[-1])
        by_folder[path.parent].add(str(patch_path))
        if patch_path.parent != path.parent:
            found[("properties_outside_model_folder", node["name"])] = str(patch_path)
    for folder, files in by_folder.items():
        if len(files) > 1:
            for node in models(manifest).values():
                if PurePosixPath(node["original_file_path"]).parent == folder:
                    found[("several_property_files_in_folder", node["name"])] = ", ".join(
                        sorted(files)
                    )
    return found


_JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.S)


def _keep_lines(comment: re.Match) -> str:
    return "\n" * comment.group(0).count("\n")


_SQL_COMMENT = re.compile(r"--[^\n]*")
_STAR = re.compile(r"\bselect\s+(?:distinct\s+)?\*|\b\w+\.\*|,\s*\*", re.I)
_IMPORT_STAR = re.compile(r"\bselect\s+\*\s+from\s+\{\{\s*(?:ref|source)\(", re.I)


def rule_select_star(manifest: dict) -> dict[tuple[str, str], str]:
    """SQL marts select their columns by name: `select *` (or `alias.*`) only in an import CTE,
    `select * from {{ ref(...) }}`."""
    found = {}
    for node in models(manifest).values():
        if layer(node) != "marts" or node.get("language", "sql") != "sql":
            continue
        code = _SQL_COMMENT.sub("", _JINJA_COMMENT.sub(_keep_lines, node["raw_code"]))
        imports = {m.start() for m in _IMPORT_STAR.finditer(code)}
        stars = [m for m in _STAR.finditer(code) if m.start() not in imports]
        if stars:
            lines = sorted({code.count("\n", 0, m.start()) + 1 for m in stars})
            found[("select_star_in_mart", node["name"])] = f"line(s) {lines} of the code"
    return found


_BUILD_STAMP = re.compile(r"\{\{\s*build_started_at\(\)\s*\}\}\s+as\s+processed_at\b", re.I)


def rule_build_stamp(manifest: dict) -> dict[tuple[str, str], str]:
    """A model that declares `processed_at` stamps it itself with the start of the build that
    writes the row (`{{ build_started_at() }} as processed_at`): the data tests of such a model
    check only the rows its latest build wrote (macros/tests/tested_rows.sql), which is sound
    only when the column says which build wrote each row (not a copy of an upstream stamp)."""
    found = {}
    for node in models(manifest).values():
        if "processed_at" in node.get("columns", {}) and not _BUILD_STAMP.search(node["raw_code"]):
            found[("processed_at_not_stamped_by_build", node["name"])] = (
                "declares processed_at but does not select {{ build_started_at() }} as processed_at"
            )
    return found


RULES = (
    rule_build_stamp,
    rule_layers,
    rule_parents,
    rule_primary_keys,
    rule_documentation,
    rule_folders,
    rule_select_star,
)
RULE_NAMES = {
    "processed_at_not_stamped_by_build",
    "model_outside_layers",
    "source_outside_base",
    "staging_reads_staging",
    "reads_higher_layer",
    "too_many_parents",
    "missing_primary_key_test",
    "undocumented_model",
    "undocumented_column",
    "model_not_in_domain_folder",
    "properties_outside_model_folder",
    "several_property_files_in_folder",
    "select_star_in_mart",
}


def violations(manifest: dict) -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for rule in RULES:
        found.update(rule(manifest))
    return found
