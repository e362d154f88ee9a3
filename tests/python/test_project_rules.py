"""The project's structure rules (project_rules.py, after dbt-project-evaluator) over the manifest
of the tiny build, with the deliberate departures of tests/dbt_project_evaluator_exceptions.yml;
and each rule over small hand-made manifests, so that a rule that stops finding what it should
fails here."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import project_rules as rules
import yaml

from governance.contract import load_contract

ROOT = Path(__file__).resolve().parents[2]
EXCEPTIONS = ROOT / "tests" / "dbt_project_evaluator_exceptions.yml"
RAW_TABLES_MACRO = ROOT / "macros" / "raw" / "raw_tables.sql"


def _exceptions() -> dict[tuple[str, str], str]:
    entries = yaml.safe_load(EXCEPTIONS.read_text())["exceptions"]
    listed = {(e["rule"], e["model"]): e["reason"] for e in entries}
    assert len(listed) == len(entries), "an exception is listed twice"
    return listed


def test_the_project_breaks_no_rule_but_its_listed_exceptions(built):
    manifest = json.loads((built["root"] / "target" / "manifest.json").read_text())
    assert len(rules.models(manifest)) >= 50
    found = rules.violations(manifest)
    listed = _exceptions()
    new = {f"{rule} {model}: {detail}" for (rule, model), detail in found.items()}
    new = sorted(line for line in new if tuple(line.split(":")[0].split(" ")) not in listed)
    assert new == [], "fix these or list them with a reason in " + EXCEPTIONS.name
    stale = sorted(f"{rule} {model}" for rule, model in set(listed) - set(found))
    assert stale == [], "these no longer happen: delete them from " + EXCEPTIONS.name


def test_every_exception_names_a_rule_and_says_why():
    for (rule, model), reason in _exceptions().items():
        assert rule in rules.RULE_NAMES, f"{rule} ({model}) is no rule of project_rules.py"
        assert len(reason.split()) >= 8, f"{rule} {model}: give the reason in a sentence"


def test_the_raw_tables_macro_lists_the_contract_tables_in_order():
    macro = RAW_TABLES_MACRO.read_text()
    listed = ast.literal_eval(re.search(r"return\((\[.*?\])\)", macro, re.S).group(1))
    assert listed == [table.name for table in load_contract()]


# Hand-made manifests: one model per call, in the layout of dbt's manifest.json.


def _model(name, folder, parents=(), code="select 1 as id", columns=None, **extra):
    path = f"models/{folder}/{name}.sql"
    columns = {"id": "The key."} if columns is None else columns
    node = {
        "unique_id": f"model.demo.{name}",
        "resource_type": "model",
        "package_name": "demo",
        "name": name,
        "original_file_path": path,
        "patch_path": f"demo://models/{folder}/_{folder.replace('/', '_')}__models.yml",
        "description": f"The {name} model.",
        "columns": {c: {"name": c, "description": d} for c, d in columns.items()},
        "depends_on": {"nodes": [p if "." in p else f"model.demo.{p}" for p in parents]},
        "config": {"contract": {"enforced": False}},
        "language": "sql",
        "raw_code": code,
    }
    node.update(extra)
    return node


def _test(model, kind, column=None):
    return {
        "unique_id": f"test.demo.{kind}_{model}_{column}",
        "resource_type": "test",
        "package_name": "demo",
        "attached_node": f"model.demo.{model}",
        "column_name": column,
        "test_metadata": {"name": kind},
    }


def _manifest(*nodes, keyed=True):
    """A manifest of `nodes`, each model keyed by unique + not_null on `id` unless not `keyed`."""
    all_nodes = {n["unique_id"]: n for n in nodes}
    if keyed:
        for node in nodes:
            if node["resource_type"] == "model":
                for kind in ("unique", "not_null"):
                    test = _test(node["name"], kind, "id")
                    all_nodes[test["unique_id"]] = test
    source = {"source_name": "shop", "name": "orders"}
    return {
        "metadata": {"project_name": "demo"},
        "nodes": all_nodes,
        "sources": {"source.demo.shop.orders": source},
    }


def test_sources_are_read_by_base_models_only():
    manifest = _manifest(
        _model("base_shop__orders", "staging/shop/base", ["source.demo.shop.orders"]),
        _model("stg_shop__orders", "staging/shop", ["base_shop__orders"]),
        _model("order_report", "marts/sales", ["source.demo.shop.orders"]),
    )
    assert rules.violations(manifest) == {
        ("source_outside_base", "order_report"): "source shop.orders"
    }


def test_staging_never_reads_staging_nor_intermediate_marts():
    manifest = _manifest(
        _model("stg_shop__orders", "staging/shop"),
        _model("stg_shop__refunds", "staging/shop", ["stg_shop__orders"]),
        _model("int_order_totals", "intermediate/sales", ["stg_shop__orders", "order_report"]),
        _model("order_report", "marts/sales", ["stg_shop__orders"]),
    )
    assert rules.violations(manifest) == {
        ("staging_reads_staging", "stg_shop__refunds"): "stg_shop__orders",
        ("reads_higher_layer", "int_order_totals"): "order_report",
    }


def test_a_model_has_at_most_seven_parents():
    parents = [_model(f"stg_shop__t{i}", "staging/shop") for i in range(8)]
    names = [p["name"] for p in parents]
    manifest = _manifest(
        *parents,
        _model("int_seven", "intermediate/sales", names[:7]),
        _model("int_eight", "intermediate/sales", names),
    )
    assert rules.violations(manifest) == {("too_many_parents", "int_eight"): "8 parents"}


def test_a_primary_key_is_unique_and_not_null_on_one_column_or_a_unique_combination():
    split = _model("split_key", "marts/sales")
    combined = _model("combined_key", "marts/sales")
    contracted = _model(
        "contracted_key",
        "marts/sales",
        config={"contract": {"enforced": True}},
        columns={"id": "The key."},
    )
    contracted["columns"]["id"]["constraints"] = [{"type": "not_null"}]
    manifest = _manifest(split, combined, contracted, keyed=False)
    for test in (
        _test("split_key", "unique", "id"),
        _test("split_key", "not_null", "other_id"),
        _test("combined_key", "unique_key_combination"),
        _test("contracted_key", "unique", "id"),
    ):
        manifest["nodes"][test["unique_id"]] = test
    assert rules.violations(manifest) == {
        ("missing_primary_key_test", "split_key"): "unique on ['id'], not_null on ['other_id']"
    }


def test_a_model_declaring_processed_at_stamps_it_with_the_build_start():
    # Its row tests read only the rows its latest build wrote: a copied stamp would hide rows.
    columns = {"id": "The key.", "processed_at": "When the row was written."}
    stamped = _model(
        "stamped",
        "marts/sales",
        code="select id, {{ build_started_at() }} as processed_at",
        columns=columns,
    )
    copied = _model(
        "copied",
        "marts/sales",
        parents=["stamped"],
        columns=columns,
        code="select id, processed_at from {{ ref('stamped') }}",
    )
    assert rules.violations(_manifest(stamped, copied)) == {
        ("processed_at_not_stamped_by_build", "copied"): (
            "declares processed_at but does not select {{ build_started_at() }} as processed_at"
        )
    }


def test_every_model_and_column_is_described_in_its_folders_one_property_file():
    undescribed = _model("undescribed", "marts/sales", description=" ")
    blank_column = _model("blank_column", "marts/sales", columns={"id": "The key.", "total": ""})
    elsewhere = _model("elsewhere", "marts/sales", patch_path="demo://models/marts/other.yml")
    flat = _model("flat", "marts")
    manifest = _manifest(undescribed, blank_column, elsewhere, flat)
    found = rules.violations(manifest)
    assert found.pop(("several_property_files_in_folder", "undescribed")).count(".yml") == 2
    for name in ("blank_column", "elsewhere"):
        found.pop(("several_property_files_in_folder", name))
    assert found == {
        ("undocumented_model", "undescribed"): "no description",
        ("undocumented_column", "blank_column"): "total",
        ("properties_outside_model_folder", "elsewhere"): "models/marts/other.yml",
        ("model_not_in_domain_folder", "flat"): "models/marts/flat.sql",
    }


def test_marts_name_their_columns_outside_import_ctes():
    imports = "with orders as (\n    select * from {{ ref('stg_shop__orders') }}\n)\n"
    manifest = _manifest(
        _model("named", "marts/sales", code=imports + "select orders.id from orders"),
        _model("star", "marts/sales", code=imports + "select *\nfrom orders"),
        _model("alias_star", "marts/sales", code=imports + "select\n    orders.*\nfrom orders"),
        _model(
            "commented", "marts/sales", code=imports + "-- select * from x\nselect id from orders"
        ),
        _model("int_star", "intermediate/sales", code=imports + "select * from orders"),
    )
    assert rules.violations(manifest) == {
        ("select_star_in_mart", "star"): "line(s) [4] of the code",
        ("select_star_in_mart", "alias_star"): "line(s) [5] of the code",
    }


def test_every_path_the_architecture_page_names_exists():
    page = (ROOT / "docs" / "architecture.md").read_text()
    paths = re.findall(r"`((?:models|macros|seeds|tests|python)/[^`*<>\s]*)`", page)
    assert len(paths) >= 20
    assert [path for path in paths if not (ROOT / path).exists()] == []
