"""Syndicate detection on hand-made identity-signal graphs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from governance.detection import (
    SyndicateParams,
    adjusted_rand,
    detect_syndicates,
    naive_connected_components,
    pairwise_prf,
    summarize_syndicates,
)
from governance.detection.syndicates import (
    SYNDICATE_COLUMNS,
    _encode,
    _pair_weights,
    _seller_index,
)

PERSONAL_TYPES = ("device_id", "bank_account", "phone", "address")
RING_A = [f"A{i}" for i in range(5)]
RING_B = [f"B{i}" for i in range(4)]
GOOD = [f"G{i:03d}" for i in range(200)]
FAMILY = ["F1", "F2"]


def build_graph() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two rings, a public IP shared by 200 good sellers and both rings, one family pair."""
    rows = []
    for s in GOOD + RING_A + RING_B + FAMILY:
        rows += [(s, t, f"{t}:{s}") for t in PERSONAL_TYPES]
    rows += [(s, "ip_address", "ip:public-cafe") for s in GOOD + RING_A + RING_B]
    rows += [(s, "bank_account", "bank:A") for s in RING_A]
    rows += [(s, "device_id", "dev:A") for s in RING_A]
    rows += [(s, "device_id", "dev:B") for s in RING_B]
    rows += [(s, "phone", "phone:B") for s in RING_B]
    rows += [(s, "device_id", "dev:family") for s in FAMILY]
    links = pd.DataFrame(rows, columns=["seller_id", "signal_type", "signal_value_hash"])
    links["n_observations"] = 3
    links["first_observed_at"] = pd.Timestamp("2025-03-01")
    links["last_observed_at"] = pd.Timestamp("2025-06-01")
    ids = GOOD + RING_A + RING_B + FAMILY
    sellers = pd.DataFrame(
        {
            "seller_id": ids,
            "region": "SG",
            "is_confirmed_bad": [s in ("A0", "A1", "B0") for s in ids],
            "is_enforced": [s in ("A0",) for s in ids],
            "first_activity_at": pd.Timestamp("2025-01-01")
            + pd.to_timedelta(np.arange(len(ids)), unit="D"),
            "last_activity_at": pd.Timestamp("2025-09-01"),
        }
    )
    return links, sellers


def members(seller_syndicates: pd.DataFrame) -> dict[str, list[str]]:
    in_syn = seller_syndicates.dropna(subset=["syndicate_id"])
    return {k: sorted(v) for k, v in in_syn.groupby("syndicate_id")["seller_id"]}


def test_rings_are_recovered_exactly_and_the_hub_does_not_merge_them():
    links, sellers = build_graph()
    seller_syn, syn = detect_syndicates(links, sellers)
    assert members(seller_syn) == {"SYN-A0": RING_A, "SYN-B0": RING_B}
    assert len(seller_syn) == len(sellers)
    assert seller_syn["seller_id"].is_monotonic_increasing
    outside = seller_syn[seller_syn["syndicate_id"].isna()]
    assert outside["membership_strength"].isna().all()
    assert (outside["n_links"] == 0).all()

    a = syn.set_index("syndicate_id").loc["SYN-A0"]
    assert a["size"] == 5
    assert a["n_confirmed_bad"] == 2
    assert a["share_confirmed_bad"] == pytest.approx(0.4)
    assert a["n_unenforced_members"] == 4
    assert sorted(a["unenforced_member_ids"].split(",")) == ["A1", "A2", "A3", "A4"]
    assert a["shared_signal_summary"] == "bank_account:1, device_id:1"
    assert a["n_links"] == 10
    assert a["link_density"] == pytest.approx(1.0)
    first_a = sellers.loc[sellers["seller_id"] == "A0", "first_activity_at"].iloc[0]
    assert a["first_activity_at"] == first_a
    assert a["last_activity_at"] == pd.Timestamp("2025-09-01")

    b = syn.set_index("syndicate_id").loc["SYN-B0"]
    assert b["shared_signal_summary"] == "device_id:1, phone:1"
    assert b["n_unenforced_members"] == 4
    # Ring A: 40 % confirmed bad -> bad_signal 0.8; ring B 25 % -> 0.5.
    assert syn["syndicate_id"].tolist() == ["SYN-A0", "SYN-B0"]
    assert 0 < b["risk_score"] < a["risk_score"] <= 1

    ring_rows = seller_syn.set_index("seller_id").loc[RING_A]
    assert (ring_rows["tie_signal_types"] == "bank_account,device_id").all()
    assert np.allclose(ring_rows["membership_strength"], 1.0)
    assert (ring_rows["n_links"] == 4).all()


def test_naive_components_merge_everything_through_the_hub():
    links, _ = build_graph()
    cc = naive_connected_components(links).set_index("seller_id")
    giant = cc.loc["A0", "cluster_id"]
    assert cc.loc[RING_B + GOOD, "cluster_id"].eq(giant).all()
    assert cc.loc["A0", "cluster_size"] == 209
    assert cc.loc["F1", "cluster_id"] == cc.loc["F2", "cluster_id"] == "CC-F1"
    truth = pd.Series({s: "A" for s in RING_A} | {s: "B" for s in RING_B})
    naive = pairwise_prf(cc["cluster_id"], truth)
    assert naive["recall"] == 1.0
    # 16 ring pairs among C(209, 2) giant-component pairs plus the family pair.
    assert naive["precision"] == pytest.approx(16 / (209 * 208 / 2 + 1))


def test_scores_against_truth_are_perfect_for_ours():
    links, sellers = build_graph()
    seller_syn, _ = detect_syndicates(links, sellers)
    truth = pd.Series({s: "A" for s in RING_A} | {s: "B" for s in RING_B})
    pred = seller_syn.set_index("seller_id")["syndicate_id"]
    assert pairwise_prf(pred, truth) == {
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
        "tp_pairs": 16,
        "pred_pairs": 16,
        "true_pairs": 16,
    }
    assert adjusted_rand(pred, truth) == pytest.approx(1.0)


def test_output_is_identical_for_any_input_row_order():
    links, sellers = build_graph()
    ref = detect_syndicates(links, sellers)
    shuffled = detect_syndicates(
        links.sample(frac=1.0, random_state=1), sellers.sample(frac=1.0, random_state=2)
    )
    pd.testing.assert_frame_equal(ref[0], shuffled[0])
    pd.testing.assert_frame_equal(ref[1], shuffled[1])


def test_hub_values_generate_no_pairs():
    links, _ = build_graph()
    hub_only = links[links["signal_type"] == "ip_address"]
    enc = _encode(hub_only, _seller_index(hub_only, None))
    a, b, w, bits, usable = _pair_weights(enc, SyndicateParams())
    assert len(a) == 0
    assert not usable.any()
    # Below the hub cut-off the same value yields every pair, with a small weight.
    small = hub_only[hub_only["seller_id"].isin(GOOD[:10])]
    enc = _encode(small, _seller_index(small, None))
    a, b, w, bits, usable = _pair_weights(enc, SyndicateParams())
    assert len(a) == 45
    assert (a < b).all()
    assert np.allclose(w, 0.2 / (1 + 0.5 * np.log2(5)))


def test_chaining_guard_drops_a_single_incidental_link():
    links, sellers = build_graph()
    # A0's relative X shares a device with A0 only.
    extra = pd.DataFrame(
        {
            "seller_id": ["X1", "A0"],
            "signal_type": ["device_id", "device_id"],
            "signal_value_hash": ["dev:home", "dev:home"],
        }
    )
    both = pd.concat([links, extra], ignore_index=True)
    guarded = members(detect_syndicates(both, sellers)[0])
    assert guarded["SYN-A0"] == RING_A
    # With the guard off (and the device weight raised) the relative is chained in.
    loose = SyndicateParams(min_member_links=1, edge_threshold=0.6)
    assert "X1" in members(detect_syndicates(both, sellers, loose)[0])["SYN-A0"]


def test_registration_proximity_links_sellers_sharing_only_a_device():
    trio = ["T1", "T2", "T3"]
    links = pd.DataFrame(
        {"seller_id": trio, "signal_type": "device_id", "signal_value_hash": "dev:shared"}
    )
    together = pd.DataFrame(
        {"seller_id": trio, "region": "MY", "registered_at": pd.Timestamp("2025-05-01")}
    )
    apart = together.assign(
        registered_at=pd.to_datetime(["2024-01-01", "2024-09-01", "2025-05-01"])
    )
    assert members(detect_syndicates(links, together)[0]) == {"SYN-T1": trio}
    assert members(detect_syndicates(links, apart)[0]) == {}  # a family device
    # Requiring two signal types per tie rules out a single shared device entirely.
    strict = SyndicateParams(min_tie_types=2)
    assert members(detect_syndicates(links, together, strict)[0]) == {}


def test_min_size_and_missing_seller_columns():
    links = pd.DataFrame(
        {
            "seller_id": ["P1", "P2"],
            "signal_type": "bank_account",
            "signal_value_hash": "bank:pair",
        }
    )
    seller_syn, syn = detect_syndicates(links, None)
    assert seller_syn["syndicate_id"].isna().all()
    assert syn.empty
    pairs_allowed = SyndicateParams(min_size=2, min_member_links=1)
    seller_syn, syn = detect_syndicates(links, None, pairs_allowed)
    assert seller_syn["syndicate_id"].tolist() == ["SYN-P1", "SYN-P1"]
    assert syn.loc[0, "n_confirmed_bad"] == 0
    assert syn.loc[0, "unenforced_member_ids"] == "P1,P2"


def test_pairwise_prf_and_ari_on_known_labels():
    pred = pd.Series({"a": 1, "b": 1, "c": 1, "d": 2, "e": 2, "f": None})
    truth = pd.Series({"a": "X", "b": "X", "c": "Y", "d": "Y", "e": "Y", "f": "Y"})
    prf = pairwise_prf(pred, truth)
    # predicted pairs: C(3,2) + C(2,2) = 4; true pairs: C(2,2) + C(4,2) = 7; shared: ab, de.
    assert prf["pred_pairs"] == 4
    assert prf["true_pairs"] == 7
    assert prf["tp_pairs"] == 2
    assert prf["precision"] == pytest.approx(0.5)
    assert prf["recall"] == pytest.approx(2 / 7)
    assert prf["f1"] == pytest.approx(4 / 11)
    # ARI = (2 - 4*7/15) / ((4 + 7)/2 - 4*7/15)
    assert adjusted_rand(pred, truth) == pytest.approx((2 - 28 / 15) / (5.5 - 28 / 15))
    # Sellers missing on one side are singletons there.
    partial = pairwise_prf(pred.drop("a"), truth)
    assert partial["pred_pairs"] == 2
    assert partial["tp_pairs"] == 1


def test_params_from_dbt_vars():
    params = SyndicateParams.from_mapping(
        {"max_share": "30", "edge_threshold": 0.9, "signal_weights": {"device_id": 0.5}}
    )
    assert params.max_share == 30
    assert params.edge_threshold == 0.9
    assert params.weight_of("device_id") == 0.5
    assert params.weight_of("bank_account") == 1.0  # per-type settings merge into defaults
    assert params.weight_of("email") == params.default_signal_weight


def _random_graph(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seeded noise: rings of 3-8 sellers sharing a few values each, incidental pairs, values
    shared by dozens of sellers (hubs under a small cap), and seller attributes for the boosts."""
    rng = np.random.default_rng(seed)
    ids = [f"S{i:04d}" for i in range(600)]
    types = ["bank_account", "device_id", "phone", "address", "ip_address"]
    rows = []
    start = 0
    for ring in range(25):
        size = int(rng.integers(3, 9))
        ring_ids = ids[start : start + size]
        start += size
        for k in range(int(rng.integers(1, 4))):
            t = types[int(rng.integers(0, len(types)))]
            holders = rng.choice(ring_ids, size=int(rng.integers(2, size + 1)), replace=False)
            rows += [(str(h), t, f"ring{ring}-{k}") for h in holders]
    for k in range(150):
        pair = rng.choice(ids, size=2, replace=False)
        rows += [(str(h), types[k % len(types)], f"pair{k}") for h in pair]
    for k in range(6):
        crowd = rng.choice(ids, size=int(rng.integers(10, 60)), replace=False)
        rows += [(str(h), "ip_address" if k % 2 else "device_id", f"crowd{k}") for h in crowd]
    links = pd.DataFrame(rows, columns=["seller_id", "signal_type", "signal_value_hash"])
    links["first_observed_at"] = pd.Timestamp("2025-01-01") + pd.to_timedelta(
        rng.integers(0, 200, len(links)), unit="D"
    )
    links["last_observed_at"] = links["first_observed_at"] + pd.Timedelta(days=30)
    sellers = pd.DataFrame(
        {
            "seller_id": ids,
            "region": rng.choice(["SG", "MY", "TH"], len(ids)),
            "primary_category": rng.choice(["toys", "beauty"], len(ids)),
            "registered_at": pd.Timestamp("2025-01-01")
            + pd.to_timedelta(rng.integers(0, 90, len(ids)), unit="D"),
            "is_confirmed_bad": rng.random(len(ids)) < 0.2,
            "is_enforced": rng.random(len(ids)) < 0.1,
        }
    )
    return links, sellers


@pytest.mark.parametrize(
    ("seed", "params"),
    [
        (0, SyndicateParams()),
        (1, SyndicateParams(max_share=30, min_tie_types=2)),
        (2, SyndicateParams(min_size=2, same_region_boost=0.3, edge_threshold=0.5)),
    ],
)
def test_summarising_the_memberships_gives_the_clusterings_syndicate_table(seed, params):
    links, sellers = _random_graph(seed)
    seller_syn, syn = detect_syndicates(links, sellers, params)
    assert len(syn) >= 5
    members_only = seller_syn[seller_syn["syndicate_id"].notna()]
    summary = summarize_syndicates(links, sellers, members_only, params)
    pd.testing.assert_frame_equal(summary, syn, check_exact=False, rtol=1e-12)


def test_summary_of_the_fixture_rings_and_of_no_syndicate():
    links, sellers = build_graph()
    seller_syn, syn = detect_syndicates(links, sellers)
    pd.testing.assert_frame_equal(summarize_syndicates(links, sellers, seller_syn), syn)
    assert syn["syndicate_id"].tolist() == ["SYN-A0", "SYN-B0"]
    nobody = seller_syn.assign(syndicate_id=None, membership_strength=np.nan)
    assert summarize_syndicates(links, sellers, nobody).columns.tolist() == SYNDICATE_COLUMNS
    assert summarize_syndicates(links, sellers, nobody).empty


def test_summary_names_members_it_cannot_find():
    links, sellers = build_graph()
    seller_syn, _ = detect_syndicates(links, sellers)
    stray = seller_syn.head(1).assign(seller_id="NOT-A-SELLER", syndicate_id="SYN-X")
    with pytest.raises(
        ValueError, match=r"members absent from links and sellers: \['NOT-A-SELLER'\]"
    ):
        summarize_syndicates(links, sellers, pd.concat([seller_syn, stray]))
