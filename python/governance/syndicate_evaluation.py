"""Scoring syndicate detection against planted rings: pairwise precision / recall / F1 and the
adjusted Rand index, overall and per ring shape, the share of innocent sharing pairs joined into
a syndicate, and the naive baseline (connected components over every shared value); the same
figures per strength bucket of the planted rings (adoption spread, size, missing values, public
hub) and per ring shape crossed with adoption spread.

Conventions (so the figures can be reproduced):

* A pair of sellers is *predicted* when both are in the same syndicate, *true* when both are in
  the same planted ring. Sellers without a label are singletons. Counted from contingency
  tables, never by listing pairs (``sklearn.metrics.pair_confusion_matrix``).
* Per ring shape (or strength bucket), the true pairs are those inside rings of that shape;
  the predicted pairs are those with at least one member of such a ring; precision is the
  share of those that are true.
  The ARI of a shape is computed over the members of its rings and the sellers detected in the
  same syndicates as them (other sellers' ring labels count as singletons there).
* An *innocent pair* is a pair of sellers that share an innocently shared value (family device,
  home address or IP, public IP, co-working address or office IP, a logistics agent's phone or
  address) and are not in the same ring. Its *join share* is the share of such distinct pairs
  whose two sellers end up in one syndicate; reported per kind and overall.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph
from sklearn.metrics import adjusted_rand_score, pair_confusion_matrix


def _aligned_labels(pred: pd.Series, truth: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer labels over the union of sellers; null labels become singleton clusters."""
    index = pred.index.union(truth.index)
    out = []
    for s in (pred, truth):
        s = s[~s.index.duplicated()].reindex(index)
        codes = pd.factorize(s, use_na_sentinel=True)[0].astype(np.int64)
        na = codes < 0
        codes[na] = codes.max(initial=-1) + 1 + np.arange(int(na.sum()))
        out.append(codes)
    return out[0], out[1]


def prf_from_pairs(tp: int, pred_pairs: int, true_pairs: int) -> dict[str, float]:
    precision = tp / pred_pairs if pred_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "tp_pairs": int(tp),
        "pred_pairs": int(pred_pairs),
        "true_pairs": int(true_pairs),
    }


def pairwise_prf(pred: pd.Series, truth: pd.Series) -> dict[str, float]:
    """Pairwise precision, recall and F1 of a clustering against known rings.

    ``pred`` and ``truth`` map seller_id (index) to a cluster / ring label; null labels and
    sellers missing from one side are singletons. With no predicted (true) pairs, precision
    (recall) is 1.0 by convention. Returns ``precision, recall, f1, tp_pairs, pred_pairs,
    true_pairs``.
    """
    pl, tl = _aligned_labels(pred, truth)
    matrix = pair_confusion_matrix(tl, pl) // 2  # ordered pairs -> unordered
    tp, fp, fn = int(matrix[1, 1]), int(matrix[0, 1]), int(matrix[1, 0])
    return prf_from_pairs(tp, tp + fp, tp + fn)


def adjusted_rand(pred: pd.Series, truth: pd.Series) -> float:
    """Adjusted Rand index over the union of sellers (null labels are singletons)."""
    pl, tl = _aligned_labels(pred, truth)
    return float(adjusted_rand_score(tl, pl))


def _pairs(counts: pd.Series | np.ndarray) -> int:
    c = np.asarray(counts, dtype=np.int64)
    return int((c * (c - 1) // 2).sum())


# Strength buckets of the planted rings (truth `rings` columns): upper bounds and labels.
STRENGTH_BUCKETS: dict[str, tuple[str, list[float], list[str]]] = {
    "adoption_spread": (
        "adoption_spread_days",
        [7.0, 30.0, 90.0],
        ["<= 7 days", "8-30 days", "31-90 days", "> 90 days"],
    ),
    "size": ("size", [5.0, 15.0], ["3-5", "6-15", "16-40"]),
    "missing_values": ("missing_share", [0.0, 0.15], ["none", "<= 15%", "> 15%"]),
}


def ring_strengths(rings: pd.DataFrame) -> dict[str, pd.Series]:
    """Each planted ring's bucket per strength dimension (ring id -> label): adoption spread,
    size, share of missing values, whether it touches a public hub, and ring shape crossed
    with adoption spread. Dimensions whose columns the truth lacks are left out."""
    rings = rings.set_index("ring_id")
    out: dict[str, pd.Series] = {}
    for name, (column, bounds, labels) in STRENGTH_BUCKETS.items():
        if column in rings.columns:
            edges = [-np.inf, *bounds, np.inf]
            out[name] = pd.cut(rings[column], edges, labels=labels)
    if "touches_hub" in rings.columns:
        hub = rings["touches_hub"].map({False: "no hub", True: "touches a hub"})
        out["touches_hub"] = pd.Categorical(hub, ["no hub", "touches a hub"])
        out["touches_hub"] = pd.Series(out["touches_hub"], index=rings.index)
    if "shape" in rings.columns and "adoption_spread" in out:
        spread = out["adoption_spread"]
        combined = rings["shape"] + " | " + spread.astype(str)
        order = [
            f"{s} | {b}" for s in sorted(rings["shape"].unique()) for b in spread.cat.categories
        ]
        out["shape_by_spread"] = pd.Series(pd.Categorical(combined, order), index=rings.index)
    return out


def score_by_shape(pred: pd.Series, truth: pd.Series, shape_of_ring: pd.Series) -> dict:
    """Pairwise precision / recall / F1 and ARI per ring shape (see the module docstring), or
    per any other label of the rings (a strength bucket: :func:`ring_strengths`).

    Args:
        pred: seller_id -> syndicate id (null outside syndicates).
        truth: seller_id -> ring id (null outside rings).
        shape_of_ring: ring id -> shape (or another label).
    """
    frame = pd.DataFrame({"pred": pred, "truth": truth})
    frame["shape"] = frame["truth"].map(shape_of_ring.astype(object))
    out = {}
    present = shape_of_ring.dropna()
    if isinstance(present.dtype, pd.CategoricalDtype):  # buckets in their own order
        labels = [c for c in present.cat.categories if (present == c).any()]
    else:
        labels = sorted(present.unique())
    for shape in labels:
        mine = frame["shape"] == shape
        true_pairs = _pairs(frame.loc[mine].groupby("truth").size())
        detected = frame.loc[mine, "pred"].dropna().unique()
        touched = frame[frame["pred"].isin(detected)]
        n_all = touched.groupby("pred").size()
        n_other = touched[touched["shape"] != shape].groupby("pred").size()
        n_other = n_other.reindex(n_all.index, fill_value=0)
        pred_pairs = _pairs(n_all) - _pairs(n_other)
        tp = _pairs(touched[touched["shape"] == shape].groupby(["pred", "truth"]).size())
        universe = frame[mine | frame["pred"].isin(detected)]
        ari_truth = universe["truth"].where(universe["shape"] == shape)
        scores = prf_from_pairs(tp, pred_pairs, true_pairs)
        scores["adjusted_rand"] = adjusted_rand(universe["pred"], ari_truth)
        scores["rings"] = int(frame.loc[mine, "truth"].nunique())
        scores["sellers"] = int(mine.sum())
        out[str(shape)] = scores
    return out


def innocent_join_share(pred: pd.Series, truth: pd.Series, sharing: pd.DataFrame) -> dict:
    """Share of innocent sharing pairs joined into one syndicate, per kind and overall.

    Args:
        pred: seller_id -> syndicate id. truth: seller_id -> ring id.
        sharing: one row per holder of an innocent value: ``signal_type, signal_value,
            hub_kind, seller_id``.
    """
    value_key = sharing["hub_kind"] + "|" + sharing["signal_type"] + "|" + sharing["signal_value"]
    frame = pd.DataFrame(
        {"kind": sharing["hub_kind"].to_numpy(), "value": value_key.to_numpy()}
    ).assign(seller=sharing["seller_id"].to_numpy())
    codes, sellers = pd.factorize(frame["seller"])
    frame["code"] = codes
    ring = truth.reindex(sellers).to_numpy(dtype=object)
    syn = pred.reindex(sellers).to_numpy(dtype=object)
    n = len(sellers)
    rows = []
    kinds = sorted(frame["kind"].unique())
    all_keys, all_joined = [], []
    for kind in kinds:
        keys = _distinct_pairs(frame[frame["kind"] == kind], n)
        a, b = keys // n, keys % n
        same_ring = pd.notna(ring[a]) & (ring[a] == ring[b])
        keys, a, b = keys[~same_ring], a[~same_ring], b[~same_ring]
        joined = pd.notna(syn[a]) & (syn[a] == syn[b])
        all_keys.append(keys)
        all_joined.append(keys[joined])
        rows.append((kind, len(keys), int(joined.sum())))
    out = {
        kind: {"pairs": pairs, "joined": joined, "share": joined / pairs if pairs else 0.0}
        for kind, pairs, joined in rows
    }
    pairs = len(np.unique(np.concatenate(all_keys))) if all_keys else 0
    joined = len(np.unique(np.concatenate(all_joined))) if all_joined else 0
    out["all"] = {"pairs": pairs, "joined": joined, "share": joined / pairs if pairs else 0.0}
    return out


def _distinct_pairs(frame: pd.DataFrame, n: int) -> np.ndarray:
    """Distinct unordered seller pairs (``a * n + b``, a < b) sharing a value of ``frame``."""
    keys = []
    for _, codes in frame.groupby("value")["code"]:
        c = np.unique(codes.to_numpy())
        i, j = np.triu_indices(len(c), k=1)
        keys.append(c[i] * n + c[j])
    return np.unique(np.concatenate(keys)) if keys else np.zeros(0, np.int64)


def naive_connected_components(links: pd.DataFrame, id_prefix: str = "CC-") -> pd.DataFrame:
    """Baseline clustering: connected components over every shared value, hubs included.

    Returns ``seller_id, cluster_id, cluster_size`` for every seller in ``links`` (singletons
    get their own cluster); ``cluster_id = id_prefix + smallest seller_id``.
    """
    seller_ids = np.sort(links["seller_id"].dropna().unique().astype(object))
    seller = pd.Index(seller_ids).get_indexer(links["seller_id"])
    value = pd.factorize(links["signal_type"] + "\x1f" + links["signal_value_hash"])[0]
    ok = (seller >= 0) & (value >= 0)
    n, n_values = len(seller_ids), int(value.max(initial=-1)) + 1
    graph = sparse.coo_matrix(
        (np.ones(int(ok.sum())), (seller[ok], n + value[ok])), shape=(n + n_values,) * 2
    ).tocsr()
    _, comp = csgraph.connected_components(graph, directed=False)
    comp = comp[:n]
    first = np.full(comp.max(initial=0) + 1, n, dtype=np.int64)
    np.minimum.at(first, comp, np.arange(n))
    return pd.DataFrame(
        {
            "seller_id": seller_ids,
            "cluster_id": [f"{id_prefix}{seller_ids[i]}" for i in first[comp]],
            "cluster_size": np.bincount(comp)[comp].astype(np.int64),
        }
    )
