"""Scoring syndicates against planted rings, on hand-made labels."""

from __future__ import annotations

import pandas as pd
import pytest

from governance.evaluation_seeds import aggregate
from governance.syndicate_evaluation import (
    adjusted_rand,
    innocent_join_share,
    naive_connected_components,
    pairwise_prf,
    ring_strengths,
    score_by_shape,
)


def test_pairwise_prf_and_ari_on_known_labels():
    pred = pd.Series({"a": 1, "b": 1, "c": 1, "d": 2, "e": 2, "f": None})
    truth = pd.Series({"a": "X", "b": "X", "c": "Y", "d": "Y", "e": "Y", "f": "Y"})
    prf = pairwise_prf(pred, truth)
    # predicted pairs: C(3,2) + C(2,2) = 4; true pairs: C(2,2) + C(4,2) = 7; shared: ab, de.
    assert (prf["pred_pairs"], prf["true_pairs"], prf["tp_pairs"]) == (4, 7, 2)
    assert prf["precision"] == pytest.approx(0.5)
    assert prf["recall"] == pytest.approx(2 / 7)
    assert prf["f1"] == pytest.approx(4 / 11)
    assert adjusted_rand(pred, truth) == pytest.approx((2 - 28 / 15) / (5.5 - 28 / 15))
    partial = pairwise_prf(pred.drop("a"), truth)  # missing on one side: a singleton there
    assert (partial["pred_pairs"], partial["tp_pairs"]) == (2, 1)


def test_scores_per_ring_shape():
    truth = pd.Series({"a": "R1", "b": "R1", "c": "R1", "d": "R2", "e": "R2", "x": None})
    pred = pd.Series({"a": "S1", "b": "S1", "c": None, "d": "S2", "e": "S2", "x": "S2"})
    shapes = pd.Series({"R1": "star", "R2": "chain"})
    scores = score_by_shape(pred, truth, shapes)
    assert scores["star"]["recall"] == pytest.approx(1 / 3)
    assert scores["star"]["precision"] == 1.0
    # chain: true pair de found; predicted pairs touching d/e: de, dx, ex.
    assert scores["chain"]["recall"] == 1.0
    assert scores["chain"]["precision"] == pytest.approx(1 / 3)
    assert scores["chain"]["rings"] == 1


def test_innocent_join_share_counts_distinct_pairs_outside_rings():
    sharing = pd.DataFrame(
        {
            "signal_type": ["ip_address"] * 4 + ["device_id"] * 2 + ["address"] * 2,
            "signal_value": ["cafe"] * 4 + ["fam"] * 2 + ["home"] * 2,
            "hub_kind": ["public_ip"] * 4 + ["family_device"] * 2 + ["family_address"] * 2,
            "seller_id": ["a", "b", "c", "r1", "f1", "f2", "f1", "f2"],
        }
    )
    truth = pd.Series({"r1": "R1", "r2": "R1"})
    pred = pd.Series({"a": "S1", "b": "S1", "r1": "S1", "f1": "S2", "f2": "S2"})
    share = innocent_join_share(pred, truth, sharing)
    assert share["public_ip"] == {"pairs": 6, "joined": 3, "share": 0.5}
    assert share["family_device"]["joined"] == 1
    # f1-f2 share two values: one distinct pair overall.
    assert share["all"] == {"pairs": 7, "joined": 4, "share": 4 / 7}


def test_naive_components_merge_everything_through_a_hub():
    links = pd.DataFrame(
        {
            "seller_id": ["a", "b", "b", "c", "d"],
            "signal_type": ["ip_address", "ip_address", "device_id", "device_id", "phone"],
            "signal_value_hash": ["h1", "h1", "h2", "h2", "h3"],
        }
    )
    cc = naive_connected_components(links).set_index("seller_id")
    assert cc.loc[["a", "b", "c"], "cluster_id"].eq("CC-a").all()
    assert cc.loc["d", "cluster_size"] == 1


def test_seed_reports_are_aggregated_whatever_sections_they_hold():
    def report(f1, tp):
        pairs = {"tp_pairs": tp, "pred_pairs": 10, "true_pairs": 10, "f1": f1}
        return {
            "anomalies": {"detector": {"recall": f1}},
            "syndicates": {
                "detector": pairs,
                "by_shape": {"star": pairs},
                "innocent_pairs": {"all": {"pairs": 100, "joined": tp, "share": tp / 100}},
            },
        }

    result = aggregate({1: report(0.9, 9), 2: report(0.5, 5)})
    stats = result["over_seeds"]
    assert stats["anomalies.detector.recall"] == {"mean": 0.7, "min": 0.5, "max": 0.9, "seeds": 2}
    pooled = result["syndicates_pooled"]
    assert pooled["detector"]["recall"] == pytest.approx(14 / 20)
    assert pooled["by_shape"]["star"]["precision"] == pytest.approx(14 / 20)
    assert pooled["innocent_pairs"]["all"] == {"pairs": 200, "joined": 14, "share": 0.07}


def test_rings_are_bucketed_by_strength_in_the_buckets_order():
    rings = pd.DataFrame(
        {
            "ring_id": ["R1", "R2", "R3"],
            "shape": ["star", "rotation_chain", "star"],
            "size": [3, 12, 40],
            "adoption_spread_days": [2.0, 200.0, 45.0],
            "missing_share": [0.0, 0.1, 0.3],
            "touches_hub": [False, True, False],
        }
    )
    strengths = ring_strengths(rings)
    assert strengths["adoption_spread"].astype(str).tolist() == [
        "<= 7 days",
        "> 90 days",
        "31-90 days",
    ]
    assert strengths["size"].astype(str).tolist() == ["3-5", "6-15", "16-40"]
    assert strengths["missing_values"].astype(str).tolist() == ["none", "<= 15%", "> 15%"]
    assert strengths["touches_hub"].astype(str).tolist() == ["no hub", "touches a hub", "no hub"]
    truth = pd.Series({"a": "R1", "b": "R1", "c": "R2", "d": "R2", "e": "R3", "f": "R3"})
    pred = pd.Series({"a": "S1", "b": "S1", "c": "S2", "d": None, "e": "S3", "f": "S3"})
    by_spread = score_by_shape(pred, truth, strengths["adoption_spread"])
    assert list(by_spread) == ["<= 7 days", "31-90 days", "> 90 days"]  # the buckets' order
    assert by_spread["> 90 days"]["recall"] == 0.0
    assert by_spread["<= 7 days"]["f1"] == 1.0


def test_pooled_strength_buckets_keep_their_order_and_count_rings():
    def seed(buckets):
        table = {b: {"tp_pairs": 1, "pred_pairs": 1, "true_pairs": 2, "rings": 1} for b in buckets}
        pairs = {"tp_pairs": 1, "pred_pairs": 1, "true_pairs": 1}
        return {
            "syndicates": {
                "detector": pairs,
                "by_strength": {"adoption_spread": table},
                "innocent_pairs": {},
            }
        }

    pooled = aggregate({1: seed(["<= 7 days", "> 90 days"]), 2: seed(["8-30 days", "> 90 days"])})
    spread = pooled["syndicates_pooled"]["by_strength"]["adoption_spread"]
    assert list(spread) == ["<= 7 days", "8-30 days", "> 90 days"]
    assert spread["> 90 days"]["rings"] == 2
    assert spread["> 90 days"]["recall"] == pytest.approx(0.5)
