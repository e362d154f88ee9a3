"""Shared fixtures: warehouses built once per test session from generated data."""

from __future__ import annotations

import pytest

from governance import build_results
from governance.publish import checkpoint, renew_publication, write_published_file
from governance.simulator import generate
from governance.warehouse import build


def _build(tmp_path_factory, name: str, scale: str, seed: int) -> dict:
    root = tmp_path_factory.mktemp(name)
    raw, truth = root / "raw", root / "truth"
    generate(raw_dir=raw, truth_dir=truth, scale=scale, seed=seed)
    db = root / "governance.duckdb"
    results = build(raw, db, target_path=root / "target", quiet=True)
    build_results.record(db, results)  # as governance build does before it publishes
    renew_publication(db)  # as the publish does
    checkpoint(db)
    published = root / "published" / "governance.duckdb"
    published.parent.mkdir()
    write_published_file(db, published)
    return {
        "root": root,
        "raw": raw,
        "truth": truth,
        "db": db,
        "published": published,
        "results": results,
    }


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """The tiny tier (seed 7) built with every dbt test and its results recorded in the
    warehouse: paths to raw, truth, the build's whole warehouse (`db`, what the state file of a
    published build holds), the published file written from it (`published`, the consumer
    schemas only), target folder and run_results.json."""
    return _build(tmp_path_factory, "tiny", "tiny", 7)


@pytest.fixture(scope="session")
def built_small(tmp_path_factory):
    """The small demo tier (seed 42), for checks against planted truth that need its size."""
    return _build(tmp_path_factory, "small", "small", 42)
