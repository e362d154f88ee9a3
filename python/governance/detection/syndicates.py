"""Syndicate (seller ring) detection from group evidence on the seller–identifier graph.

Bad sellers operating as a ring re-use identifiers: devices, bank accounts, phone lines,
warehouse addresses, IP addresses. Innocent sharing exists too: a public IP or a co-working
address used by hundreds of unrelated sellers, a family sharing one device, a logistics agent's
phone on many accounts. What sets a ring apart is not one shared value but the group: its
members took up the values they share within a short span, while innocent sharers took them
up independently of each other, over months. The detector works on the bipartite graph of
sellers and the identity values they hold, in four stages that are each a table operation
(the same stages can run distributed, one group at a time):

1. **Value evidence** (:func:`score_values`, vectorised over the links table). Time is read on
   the marketplace's arrival clock: the empirical distribution of sellers' ``registered_at``
   (``onboarded_at`` where missing; the links' first observations when sellers are not given),
   so a position ``u`` in [0, 1] says which share of the marketplace's sellers had arrived by
   then. A value held by ``k`` sellers whose positions span ``r`` has the range-test p-value
   ``P(range of k independent uniform positions <= r) = k r^(k-1) - (k-1) r^k``: the chance
   that ``k`` sellers acting independently, at the marketplace's pace, fall that close
   together. It is computed twice, on the holders' first uses of the value and on their own
   arrivals, and the larger p counts (a ring's accounts are opened and take up its identifiers
   together; sellers who found the same café, co-working space or agent opened their accounts
   independently, even when they took the value up in the same months). Multiplied by the
   ``C(k, 2)`` seller pairs the value would join (a Bonferroni correction: the expected number
   of innocent pairs a value joins by chance stays below ``value_alpha`` whatever its size, so
   a public IP needs its hundreds of users to have arrived almost at once) it is the value's
   pair-corrected p-value. A value *binds* its holders when that is at most ``value_alpha``;
   its evidence is ``-log10`` of it, capped at ``evidence_cap``.

   Each value is also compared with the values of its own signal type in this marketplace: the
   robust z-score of ``log k`` among the type's shared values (median and MAD, the mean
   absolute deviation when the MAD is 0). A value beyond ``hub_z`` that does not bind is a
   *hub* (public IPs, co-working addresses, agents' phones); such widely shared values must
   also be concentrated within their own period of use (first use to last observation), so a
   place that opened late and kept drawing users stays a hub. Where no holder of a value has a
   first-observation time, the share count alone decides: every non-hub value binds, with
   evidence 1.
2. **Candidate groups** (:func:`candidate_groups`): connected components of the graph of
   sellers and binding values (hubs and non-binding values removed first, so no value ever
   produces pairs it cannot justify). Components with fewer than ``min_size`` sellers are
   dropped.
3. **Per-group communities** (:func:`cluster_group`, a pure function of one group's links, so
   the result does not depend on how groups are batched). Sellers are joined by the summed
   evidence of the values they share. Groups of at least ``2 * min_size`` sellers are split
   with Leiden (igraph's implementation, modularity at ``resolution``, fixed seed); two parts are
   merged back when the evidence between them is at least ``merge_share`` of the evidence that
   holds an average member in the weaker part (so a chain of accounts, which modularity cuts
   into segments, stays whole, while two rings touching through one weak tie stay apart).
   Each community of at least ``min_size`` members is a syndicate when its members (each
   member's earliest first use of a binding value, and its arrival) pass the same range test
   at ``group_alpha``: a ring is a group of accounts that were opened and took up their
   identifiers together. This is what finds stars and chains, whose members are tied two by
   two by values that are weak evidence alone.
4. **Summaries** (:func:`summarize_syndicates`): one row per seller and one per syndicate, with
   the hashed identifiers that bind it, its shape (``dense``: one value held by every member;
   ``star``: one member tied to all others, the others barely to each other; ``chain``: no
   member tied to more than two others; ``partial_overlap``: members hold different subsets of
   the ring's values), its adoption span and p-value, and the members not yet enforced.

``syndicate_id = id_prefix + smallest member seller_id``, stable under any reordering of the
input. The syndicate risk score:

    risk_score = 0.55 * bad_signal + 0.30 * link_signal + 0.15 * size_signal

* ``bad_signal = min(1, 2 * share_confirmed_bad)`` (half the members confirmed bad saturates);
* ``link_signal = 0.5 * link_density + 0.5 * min(1, mean_link_weight / evidence_cap)``;
* ``size_signal = min(1, log(size / 2) / log(20))`` (40 members saturate).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse
from scipy.sparse import csgraph

from governance.detection._params import params_from_mapping

# The seller columns the detection uses (all optional except seller_id).
SELLER_ATTRIBUTE_COLUMNS = [
    "seller_id",
    "registered_at",
    "onboarded_at",
    "is_confirmed_bad",
    "is_enforced",
    "first_activity_at",
    "last_activity_at",
]
SELLER_SYNDICATE_COLUMNS = [
    "seller_id",
    "syndicate_id",
    "membership_strength",
    "n_links",
    "link_weight",
    "tie_signal_types",
    "n_binding_values",
]
SYNDICATE_COLUMNS = [
    "syndicate_id",
    "size",
    "n_confirmed_bad",
    "share_confirmed_bad",
    "n_enforced",
    "n_unenforced_members",
    "unenforced_member_ids",
    "shared_signal_summary",
    "n_links",
    "link_density",
    "mean_link_weight",
    "first_activity_at",
    "last_activity_at",
    "risk_score",
    "shape",
    "n_binding_values",
    "binding_identifiers",
    "adoption_span_days",
    "adoption_p_value",
]
# Columns of the value-evidence table (stage 1), one row per shared value.
VALUE_COLUMNS = [
    "signal_type",
    "signal_value_hash",
    "n_sellers",
    "adoption_span_days",
    "log10_adoption_p",
    "log10_pair_p",
    "share_z",
    "is_hub",
    "is_binding",
    "evidence",
]
_DAY_NS = 86_400e9
_LN10 = np.log(10.0)


@dataclass(frozen=True)
class SyndicateParams:
    """Settings of :func:`detect_syndicates` (significance levels and robust-statistics cut-offs,
    not weights fitted to one marketplace).

    Attributes:
        value_alpha: a value binds its holders when its adoption p-value times the seller
            pairs it joins is at most this.
        group_alpha: a community is a syndicate when its members' adoption positions are this
            unlikely (or less) under independent adoption.
        hub_z: robust z-score of ``log(sellers sharing)`` within the value's signal type above
            which a value that does not bind is a hub.
        evidence_cap: cap of a value's evidence (``-log10`` of its pair-corrected p-value).
        merge_share: Leiden parts are merged back when the evidence between them is at least
            this share of the evidence per member inside the weaker part.
        resolution: Leiden modularity resolution.
        seed: Leiden seed (fixed: the same group always gives the same communities).
        min_size: smallest community reported as a syndicate.
        max_listed_values: binding identifiers listed per syndicate (the most shared first).
        id_prefix: prefix of syndicate ids.
    """

    value_alpha: float = 0.05
    group_alpha: float = 0.001
    hub_z: float = 3.5
    evidence_cap: float = 12.0
    merge_share: float = 0.5
    resolution: float = 1.0
    seed: int = 0
    min_size: int = 3
    max_listed_values: int = 10
    id_prefix: str = "SYN-"

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> SyndicateParams:
        """Build from a mapping such as dbt vars (values may be strings); unknown keys and
        ``None`` values are ignored."""
        return params_from_mapping(cls, values)


# --------------------------------------------------------------------------------------------
# Encoding helpers
# --------------------------------------------------------------------------------------------


def _is_text(col: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(col) and not pd.api.types.is_object_dtype(col)


def _arrow_text(col: pd.Series) -> pa.Array:
    arr = pa.array(col)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr.cast(pa.large_string()) if arr.type != pa.large_string() else arr


def _seller_index(links: pd.DataFrame, sellers: pd.DataFrame | None) -> np.ndarray:
    """Sorted unique seller ids of both inputs (the seller codes used throughout)."""
    cols = [links["seller_id"]]
    if sellers is not None and "seller_id" in sellers.columns:
        cols.append(sellers["seller_id"])
    if all(_is_text(c) for c in cols):
        # Arrow keeps millions of ids compact (no Python string objects while deduplicating).
        ids = pc.unique(pa.chunked_array([_arrow_text(c) for c in cols])).drop_null()
        return ids.take(pc.array_sort_indices(ids)).to_numpy(zero_copy_only=False)
    ids = pd.Index(pd.concat([c.dropna() for c in cols], ignore_index=True).unique())
    return ids.sort_values().to_numpy()


def _codes_in(col: pd.Series, sorted_values: np.ndarray) -> np.ndarray:
    """Position of each value of ``col`` in ``sorted_values`` (all present)."""
    if _is_text(col):
        values = pa.array(sorted_values, type=pa.large_string())
        found = pc.index_in(_arrow_text(col), value_set=values)
        return found.to_numpy(zero_copy_only=False).astype(np.int64)
    return pd.Index(sorted_values).get_indexer(col).astype(np.int64)


def _to_ns(series: pd.Series | None, n: int) -> np.ndarray:
    """Timestamps as float nanoseconds since the epoch (UTC for zoned values), NaN for nulls."""
    if series is None:
        return np.full(n, np.nan)
    t = pd.to_datetime(pd.Series(series).reset_index(drop=True), errors="coerce", utc=True)
    raw = t.dt.tz_localize(None).to_numpy("datetime64[ns]").astype(np.int64)
    out = raw.astype(float)
    out[raw == np.iinfo(np.int64).min] = np.nan
    return out


def _seller_attributes(sellers: pd.DataFrame | None, seller_ids: np.ndarray) -> pd.DataFrame:
    """Seller features aligned to ``seller_ids``; missing columns become nulls."""
    base = pd.DataFrame(index=pd.Index(seller_ids, name="seller_id"))
    if sellers is None or "seller_id" not in sellers.columns:
        return base
    s = sellers.drop_duplicates("seller_id", keep="first").set_index("seller_id")
    return base.join(s, how="left")


def log10_range_p(k: np.ndarray, span: np.ndarray) -> np.ndarray:
    """``log10 P(range of k independent U(0, 1) draws <= span)``, i.e. of
    ``k span^(k-1) - (k-1) span^k``, computed in logs (spans floored at 1e-300)."""
    k = np.asarray(k, dtype=float)
    r = np.clip(np.asarray(span, dtype=float), 1e-300, 1.0)
    return ((k - 1.0) * np.log(r) + np.log(k - (k - 1.0) * r)) / _LN10


# --------------------------------------------------------------------------------------------
# Stage 1: value evidence
# --------------------------------------------------------------------------------------------


@dataclass
class ValueEvidence:
    """Stage 1 output. Links are one row per (seller, value), values one row per shared value
    (codes follow sorted ``(signal_type, signal_value_hash)``)."""

    seller_ids: np.ndarray  # sorted seller ids; link seller codes index into it
    link_seller: np.ndarray
    link_value: np.ndarray
    link_u: np.ndarray  # position of the link's first use on the arrival clock (NaN: unknown)
    link_arrival_u: np.ndarray  # position of the seller's own arrival (NaN: unknown)
    link_first_ns: np.ndarray  # first observation (float ns, NaN when unknown)
    values: pd.DataFrame  # VALUE_COLUMNS

    @property
    def binding(self) -> np.ndarray:
        return self.values["is_binding"].to_numpy(dtype=bool)

    @property
    def evidence(self) -> np.ndarray:
        return self.values["evidence"].to_numpy(dtype=float)


def _dedupe_links(links: pd.DataFrame) -> pd.DataFrame:
    required = {"seller_id", "signal_type", "signal_value_hash"}
    missing = sorted(required - set(links.columns))
    if missing:
        raise ValueError(f"links is missing required columns: {missing}")
    cols = ["seller_id", "signal_type", "signal_value_hash"]
    out = links[cols].copy()
    out["first_ns"] = _to_ns(links.get("first_observed_at"), len(links))
    out["last_ns"] = _to_ns(links.get("last_observed_at"), len(links))
    out["last_ns"] = out["last_ns"].fillna(out["first_ns"])
    out = out.dropna(subset=cols)
    # One link per seller and value, with its earliest and latest observation.
    return out.groupby(cols, sort=False, as_index=False, dropna=True).agg(
        first_ns=("first_ns", "min"), last_ns=("last_ns", "max")
    )


def _registration_positions(
    sellers: pd.DataFrame | None, seller_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The marketplace's arrival clock (sorted registration times, onboarding where
    registration is missing) and each seller's position on it (NaN when unknown)."""
    n = len(seller_ids)
    if sellers is None or "seller_id" not in sellers.columns:
        return np.empty(0), np.full(n, np.nan)
    reg = _to_ns(sellers.get("registered_at"), len(sellers))
    onb = _to_ns(sellers.get("onboarded_at"), len(sellers))
    arrival = np.where(np.isnan(reg), onb, reg)
    clock = np.sort(arrival[~np.isnan(arrival)])
    code = _codes_in(sellers["seller_id"].reset_index(drop=True), seller_ids)
    position = np.full(n, np.nan)
    ok = code >= 0
    position[code[ok]] = _positions(clock, arrival[ok])
    return clock, position


def _positions(clock: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Mid-rank empirical CDF of times ``t`` on ``clock`` (NaN stays NaN)."""
    if clock.size == 0:
        return np.full(len(t), np.nan)
    lo = np.searchsorted(clock, t, side="left")
    hi = np.searchsorted(clock, t, side="right")
    return np.where(np.isnan(t), np.nan, (lo + hi) / (2.0 * clock.size))


def _concentration(
    k: np.ndarray, key: np.ndarray, first_u: np.ndarray, arrival_u: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per ``key`` (0..len(k)-1): the range-test log10 p-value of the holders' first uses and
    of their arrivals on the marketplace, the larger of the two (both must be concentrated: a
    ring's accounts are opened and take up its identifiers together, while sellers who found
    the same café or co-working space opened their accounts independently), and the number of
    holders with a time."""
    n_keys = len(k)

    def test(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ok = ~np.isnan(u)
        lo, hi = np.full(n_keys, np.inf), np.full(n_keys, -np.inf)
        np.minimum.at(lo, key[ok], u[ok])
        np.maximum.at(hi, key[ok], u[ok])
        known = np.bincount(key[ok], minlength=n_keys)
        span = np.where(known > 0, hi - lo, 1.0)
        log_p = log10_range_p(np.maximum(known, 2), span)
        return np.where(known >= 2, log_p, 0.0), known

    log_first, known = test(first_u)
    log_arrival, known_arrival = test(arrival_u)
    log_p = np.where(known_arrival >= 2, np.maximum(log_first, log_arrival), log_first)
    return log_p, known, log_first


def _share_z(n_sellers: np.ndarray, type_code: np.ndarray) -> np.ndarray:
    """Robust z-score of log(n_sellers) within each signal type: distance from the type's
    median in units of its scaled MAD, floored at the scaled smallest non-zero deviation (share
    counts are integers: when most values of a type are shared by exactly two sellers the MAD
    is 0, and the next possible count sets the scale); 0 when all are shared alike."""
    x = np.log(n_sellers.astype(float))
    frame = pd.DataFrame({"t": type_code, "x": x})
    med = frame.groupby("t")["x"].transform("median").to_numpy()
    frame["d"] = np.abs(x - med)
    mad = frame.groupby("t")["d"].transform("median").to_numpy()
    frame["positive"] = frame["d"].where(frame["d"] > 0)
    smallest = frame.groupby("t")["positive"].transform("min").fillna(0.0).to_numpy()
    scale = 1.4826 * np.maximum(mad, smallest)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(scale > 0, (x - med) / scale, 0.0)


def score_values(
    links: pd.DataFrame,
    sellers: pd.DataFrame | None = None,
    params: SyndicateParams | None = None,
    seller_ids: np.ndarray | None = None,
) -> ValueEvidence:
    """Stage 1: the evidence of every value shared by two or more sellers.

    Args:
        links: one row per ``seller_id, signal_type, signal_value_hash`` (optionally
            ``first_observed_at``); duplicates are merged, values held by one seller dropped.
        sellers: optional seller table; ``registered_at`` (else ``onboarded_at``) gives the
            marketplace's arrival clock for adoption positions.
        params: settings.
        seller_ids: sorted seller ids to code sellers by (default: those of ``links`` and
            ``sellers``).
    """
    p = params or SyndicateParams()
    lk = _dedupe_links(links)
    if seller_ids is None:
        seller_ids = _seller_index(lk, sellers)
    # Values held by two or more sellers, numbered in sorted (type, hash) order.
    key = ["signal_type", "signal_value_hash"]
    held = lk.groupby(key, sort=True, as_index=False).size()
    held = held[held["size"] >= 2].reset_index(drop=True)
    lk = lk.merge(held[key].reset_index(names="value"), on=key, how="inner")
    lk = lk.sort_values(["value", "seller_id"], kind="stable").reset_index(drop=True)

    value = lk["value"].to_numpy(dtype=np.int64)
    link_seller = _codes_in(lk["seller_id"], seller_ids)
    first_ns = lk["first_ns"].to_numpy(dtype=float)
    clock, arrival_u = _registration_positions(sellers, seller_ids)
    if clock.size < 2:
        clock = np.sort(first_ns[~np.isnan(first_ns)])
    u = _positions(clock, first_ns)
    u_last = _positions(clock, lk["last_ns"].to_numpy(dtype=float))
    n_values = len(held)
    k = held["size"].to_numpy(dtype=np.int64)

    def per_value(x: np.ndarray, how: str) -> np.ndarray:
        return pd.Series(x).groupby(value).agg(how).reindex(range(n_values)).to_numpy()

    span_days = (per_value(first_ns, "max") - per_value(first_ns, "min")) / _DAY_NS
    log_p, timed, _ = _concentration(k, value, u, arrival_u[link_seller])
    has_time = timed >= 2
    kt = np.maximum(timed, 2)
    log_pairs = np.log10(kt * (kt - 1) / 2.0)
    # Values shared far more widely than their type usually is must also be concentrated
    # within their own period of use (first use to last observation): a place that opened
    # late and kept drawing users is a hub, not a ring.
    u_min, u_max, use_end = per_value(u, "min"), per_value(u, "max"), per_value(u_last, "max")
    with np.errstate(divide="ignore", invalid="ignore"):
        within_use = (u_max - u_min) / np.maximum(use_end - u_min, u_max - u_min)
    log_p_use = np.where(has_time, log10_range_p(kt, np.nan_to_num(within_use, nan=1.0)), 0.0)
    type_code = pd.factorize(held["signal_type"], sort=True)[0]
    z = _share_z(k, type_code)
    widely_shared = z > p.hub_z
    log_pair_p = np.minimum(
        np.where(widely_shared, np.maximum(log_p, log_p_use), log_p) + log_pairs, 0.0
    )
    binding = np.where(has_time, log_pair_p <= np.log10(p.value_alpha), ~widely_shared)
    is_hub = widely_shared & ~binding
    evidence = np.where(has_time, np.clip(-log_pair_p, 0.0, p.evidence_cap), 1.0)
    values = pd.DataFrame(
        {
            "signal_type": held["signal_type"].to_numpy(dtype=object),
            "signal_value_hash": held["signal_value_hash"].to_numpy(dtype=object),
            "n_sellers": k,
            "adoption_span_days": np.where(has_time, span_days, np.nan),
            "log10_adoption_p": np.where(has_time, log_p, np.nan),
            "log10_pair_p": np.where(has_time, log_pair_p, np.nan),
            "share_z": z,
            "is_hub": is_hub,
            "is_binding": binding,
            "evidence": np.where(binding, evidence, 0.0),
        }
    )
    return ValueEvidence(
        seller_ids=seller_ids,
        link_seller=link_seller,
        link_value=value,
        link_u=u,
        link_arrival_u=arrival_u[link_seller],
        link_first_ns=first_ns,
        values=values,
    )


# --------------------------------------------------------------------------------------------
# Stage 2: candidate groups
# --------------------------------------------------------------------------------------------


def candidate_groups(ev: ValueEvidence, min_size: int) -> np.ndarray:
    """Stage 2: group of each seller (the smallest seller code of its connected component in
    the graph of sellers and binding values; -1 outside groups of ``min_size`` or more)."""
    n = len(ev.seller_ids)
    sel = ev.binding[ev.link_value]
    s, v = ev.link_seller[sel], ev.link_value[sel]
    n_values = len(ev.values)
    graph = sparse.coo_matrix(
        (np.ones(len(s)), (s, n + v)), shape=(n + n_values, n + n_values)
    ).tocsr()
    _, comp = csgraph.connected_components(graph, directed=False)
    comp = comp[:n]
    linked = np.zeros(n, dtype=bool)
    linked[s] = True
    first = np.full(comp.max(initial=0) + 1, n, dtype=np.int64)
    np.minimum.at(first, comp, np.arange(n))
    size = np.bincount(comp[linked], minlength=len(first))
    return np.where(linked & (size[comp] >= min_size), first[comp], -1)


# --------------------------------------------------------------------------------------------
# Stage 3: per-group communities
# --------------------------------------------------------------------------------------------


def _pairs_in_groups(sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All index pairs (i, j), i < j, inside consecutive runs of the given sizes."""
    sizes = sizes.astype(np.int64)
    total = int(sizes.sum())
    if total == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    offsets = np.r_[0, np.cumsum(sizes)[:-1]]
    pos = np.arange(total, dtype=np.int64)
    local = pos - np.repeat(offsets, sizes)
    partners = np.repeat(sizes, sizes) - local - 1
    left = np.repeat(pos, partners)
    step = np.arange(left.size, dtype=np.int64) - np.repeat(
        np.cumsum(partners) - partners, partners
    )
    return left, left + step + 1


def pair_rows(seller: np.ndarray, value: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair of holders of each value: ``(a, b, row)`` with seller codes ``a < b`` and the
    row of the pair's value in the inputs (``seller`` / ``value`` are per link).

    Quadratic in the holders of each value only: callers pass binding values (hubs never bind).
    """
    order = np.lexsort((seller, value))
    s, v = seller[order], value[order]
    left, right = _pairs_in_groups(np.diff(np.r_[_run_starts(v), v.size]))
    a, b = s[left], s[right]
    return np.minimum(a, b), np.maximum(a, b), order[left]


def reduce_pairs(
    a: np.ndarray, b: np.ndarray, n_sellers: int, **columns: tuple[np.ndarray, str]
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Distinct pairs ``(a, b)`` with each ``column=(values, how)`` reduced per pair
    (``how``: ``sum`` or ``or``)."""
    key = a * n_sellers + b
    order = np.argsort(key, kind="stable")
    key = key[order]
    first = _run_starts(key)
    out = {}
    for name, (values, how) in columns.items():
        ufunc = np.add if how == "sum" else np.bitwise_or
        out[name] = ufunc.reduceat(values[order], first) if first.size else values[:0]
    return key[first] // n_sellers, key[first] % n_sellers, out


def _leiden(n: int, a: np.ndarray, b: np.ndarray, w: np.ndarray, p: SyndicateParams):
    """Leiden communities (modularity at ``p.resolution``, iterated until stable) of one
    group's seller graph, with igraph's own Leiden and a generator seeded for this call only,
    so the same group always gives the same communities."""
    import random

    import igraph as ig

    graph = ig.Graph(n=n, edges=np.column_stack([a, b]).tolist(), directed=False)
    ig.set_random_number_generator(random.Random(p.seed))
    try:
        parts = graph.community_leiden(
            objective_function="modularity",
            weights=w.tolist(),
            resolution=p.resolution,
            n_iterations=-1,
        )
    finally:
        ig.set_random_number_generator(random)
    return np.asarray(parts.membership, dtype=np.int64)


def _merge_back(
    part: np.ndarray, a: np.ndarray, b: np.ndarray, w: np.ndarray, share: float
) -> np.ndarray:
    """Merge Leiden parts whose mutual evidence is at least ``share`` of the evidence per
    member inside the weaker of the two (union-find, strongest ties first)."""
    n_parts = int(part.max()) + 1
    size = np.bincount(part, minlength=n_parts)
    inside = part[a] == part[b]
    per_member = np.bincount(part[a[inside]], weights=w[inside], minlength=n_parts) / size
    pa_, pb_ = np.minimum(part[a], part[b])[~inside], np.maximum(part[a], part[b])[~inside]
    keys, where = np.unique(pa_ * n_parts + pb_, return_inverse=True)
    between = np.bincount(where, weights=w[~inside], minlength=len(keys))
    parent = np.arange(n_parts)

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for rank in np.lexsort((keys, -between)):
        i, j, weight = keys[rank] // n_parts, keys[rank] % n_parts, between[rank]
        if weight >= share * min(per_member[i], per_member[j]):
            ri, rj = root(int(i)), root(int(j))
            if ri != rj:
                parent[max(ri, rj)] = min(ri, rj)
    return np.array([root(int(x)) for x in part], dtype=np.int64)


def cluster_group(group: pd.DataFrame, params: SyndicateParams | None = None) -> pd.DataFrame:
    """Stage 3: the syndicates inside one candidate group. A pure function of the group.

    Args:
        group: the group's binding links: ``seller_id, value`` (any sortable value key),
            ``evidence`` (the value's), ``u`` (position of the first use on the marketplace's
            arrival clock) and ``arrival_u`` (the seller's own arrival); NaN when unknown.
        params: settings.

    Returns:
        One row per seller of the group, sorted by ``seller_id``: ``seller_id``,
        ``community`` (the smallest seller id of the seller's community) and ``is_syndicate``
        (community of ``min_size`` or more whose adoption test passes), ``log10_adoption_p``
        (the community's; NaN when no member has a time).
    """
    columns = [group[c].to_numpy() for c in ("seller_id", "value", "evidence", "u", "arrival_u")]
    return pd.DataFrame(_cluster_arrays(*columns, params or SyndicateParams()))


def _cluster_arrays(
    seller_id: np.ndarray,
    value_id: np.ndarray,
    evidence: np.ndarray,
    u: np.ndarray,
    arrival_u: np.ndarray,
    p: SyndicateParams,
) -> dict[str, np.ndarray]:
    """:func:`cluster_group` on plain arrays (the group's links), returning its columns."""
    ids, seller = np.unique(seller_id, return_inverse=True)
    _, value = np.unique(value_id, return_inverse=True)
    n = len(ids)
    a, b, row = pair_rows(seller, value)
    a, b, red = reduce_pairs(a, b, n, w=(evidence.astype(float)[row], "sum"))
    w = red["w"]
    part = np.zeros(n, dtype=np.int64)
    if n >= 2 * p.min_size and len(a):
        part = _merge_back(_leiden(n, a, b, w, p), a, b, w, p.merge_share)
    # Community label: its smallest member (ids are sorted, so the smallest code).
    first = np.full(n, n, dtype=np.int64)
    np.minimum.at(first, part, np.arange(n))
    label = first[part]
    size = np.bincount(label, minlength=n)
    log_p = _community_log_p(label, n, seller, u.astype(float), arrival_u.astype(float))
    passes = np.isnan(log_p) | (log_p <= np.log10(p.group_alpha))
    return {
        "seller_id": ids,
        "community": ids[label],
        "is_syndicate": (size[label] >= p.min_size) & passes[label],
        "log10_adoption_p": log_p[label],
    }


def _community_log_p(
    label: np.ndarray, n_labels: int, seller: np.ndarray, u: np.ndarray, arrival_u: np.ndarray
) -> np.ndarray:
    """log10 adoption p-value of each community ``0..n_labels-1`` from its members' earliest
    first use of a binding value and their arrivals (``label`` per seller code, -1 outside;
    ``seller``, ``u``, ``arrival_u`` per link); NaN when fewer than two members have a time."""
    n = len(label)
    member_u = np.full(n, np.inf)
    np.minimum.at(member_u, seller, np.nan_to_num(u, nan=np.inf))
    member_arrival = np.full(n, np.nan)
    member_arrival[seller] = arrival_u
    inside = label >= 0
    size = np.bincount(label[inside], minlength=n_labels)
    log_p, known, _ = _concentration(
        size,
        label[inside],
        np.where(np.isfinite(member_u), member_u, np.nan)[inside],
        member_arrival[inside],
    )
    return np.where(known >= 2, log_p, np.nan)


def cluster_groups(rows: pd.DataFrame, params: SyndicateParams | None = None) -> pd.DataFrame:
    """Stage 3 over many groups: :func:`cluster_group` applied to each ``group`` of ``rows``
    (columns ``group`` plus those of :func:`cluster_group`), concatenated."""
    cols = ["seller_id", "value", "evidence", "u", "arrival_u"]
    rows = rows.sort_values("group", kind="stable")
    group = rows["group"].to_numpy()
    bounds = np.r_[_run_starts(group), len(group)]
    arrays = [rows[c].to_numpy() for c in cols]
    p = params or SyndicateParams()
    parts = [
        _cluster_arrays(*(x[i:j] for x in arrays), p)
        for i, j in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    if not parts:
        return pd.DataFrame(
            {
                "seller_id": pd.Series(dtype=object),
                "community": pd.Series(dtype=object),
                "is_syndicate": pd.Series(dtype=bool),
                "log10_adoption_p": pd.Series(dtype=float),
            }
        )
    return pd.DataFrame({c: np.concatenate([part[c] for part in parts]) for c in parts[0]})


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def detect_syndicates(
    links: pd.DataFrame,
    sellers: pd.DataFrame | None = None,
    params: SyndicateParams | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cluster sellers into syndicates from shared identity signals (stages 1-4).

    Args:
        links: one row per ``seller_id, signal_type, signal_value_hash`` (optionally
            ``first_observed_at``). Duplicate rows are merged.
        sellers: seller features; used columns (all optional except ``seller_id``):
            ``registered_at, onboarded_at, is_confirmed_bad, is_enforced, first_activity_at,
            last_activity_at``.
        params: settings; defaults to :class:`SyndicateParams()`.

    Returns:
        ``(seller_syndicates, syndicates)``.

        ``seller_syndicates``: one row per seller in ``links`` or ``sellers``, sorted by
        ``seller_id``: ``seller_id, syndicate_id`` (null when in none),
        ``membership_strength`` (0-1: the seller's summed evidence to fellow members divided
        by the largest such sum among the members; null outside syndicates), ``n_links``
        (fellow members it shares a binding value with), ``link_weight`` (their summed
        evidence), ``tie_signal_types`` (sorted, comma-separated signal types of those ties),
        ``n_binding_values`` (binding values it shares with fellow members).

        ``syndicates``: one row per syndicate, sorted by ``risk_score`` descending then id
        (see :data:`SYNDICATE_COLUMNS` and :func:`summarize_syndicates`).
    """
    p = params or SyndicateParams()
    seller_ids = _seller_index(links, sellers)
    ev = score_values(links, sellers, p, seller_ids)
    group = candidate_groups(ev, p.min_size)
    sel = ev.binding[ev.link_value] & (group[ev.link_seller] >= 0)
    rows = pd.DataFrame(
        {
            "group": group[ev.link_seller[sel]],
            "seller_id": ev.link_seller[sel],
            "value": ev.link_value[sel],
            "evidence": ev.evidence[ev.link_value[sel]],
            "u": ev.link_u[sel],
            "arrival_u": ev.link_arrival_u[sel],
        }
    )
    clusters = cluster_groups(rows, p)
    clusters = clusters[clusters["is_syndicate"]]
    n = len(seller_ids)
    syn_of = np.full(n, -1, dtype=np.int64)
    syn_of[clusters["seller_id"].to_numpy(dtype=np.int64)] = clusters["community"].to_numpy(
        dtype=np.int64
    )
    attrs = _seller_attributes(sellers, seller_ids)
    return _tables(ev, attrs, syn_of, p)


def summarize_syndicates(
    links: pd.DataFrame,
    sellers: pd.DataFrame | None,
    seller_syndicates: pd.DataFrame,
    params: SyndicateParams | None = None,
) -> pd.DataFrame:
    """The ``syndicates`` table of :func:`detect_syndicates`, from its ``seller_syndicates``
    output and the same ``links``, ``sellers`` and ``params``, without clustering again (the
    value evidence, a linear pass, is recomputed).

    Args:
        links, sellers, params: as given to :func:`detect_syndicates`.
        seller_syndicates: its seller-level output; used columns ``seller_id, syndicate_id``
            (sellers outside syndicates may be left out).
    """
    p = params or SyndicateParams()
    required = {"seller_id", "syndicate_id"}
    missing = sorted(required - set(seller_syndicates.columns))
    if missing:
        raise ValueError(f"seller_syndicates is missing required columns: {missing}")
    members = seller_syndicates.loc[seller_syndicates["syndicate_id"].notna(), list(required)]
    if members.empty:
        return _empty(SYNDICATE_COLUMNS)
    seller_ids = _seller_index(links, sellers)
    code = pd.Index(seller_ids).get_indexer(members["seller_id"].astype(object)).astype(np.int64)
    if (code < 0).any():
        unknown = members["seller_id"][code < 0].head(3).tolist()
        raise ValueError(f"seller_syndicates has members absent from links and sellers: {unknown}")
    ev = score_values(links, sellers, p, seller_ids)
    first = pd.Series(code).groupby(members["syndicate_id"].to_numpy()).transform("min")
    syn_of = np.full(len(seller_ids), -1, dtype=np.int64)
    syn_of[code] = first.to_numpy()
    return _tables(ev, _seller_attributes(sellers, seller_ids), syn_of, p)[1]


# --------------------------------------------------------------------------------------------
# Stage 4: summaries
# --------------------------------------------------------------------------------------------


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


@dataclass
class _Inside:
    """Binding links and seller pairs inside syndicates (codes are seller codes)."""

    seller: np.ndarray
    value: np.ndarray
    syn: np.ndarray  # syndicate code (smallest member) per link
    a: np.ndarray
    b: np.ndarray
    w: np.ndarray  # summed evidence of the values each pair shares
    type_bits: np.ndarray  # bit set of the signal types each pair shares


def _inside(ev: ValueEvidence, syn_of: np.ndarray) -> _Inside:
    n = len(ev.seller_ids)
    syn = syn_of[ev.link_seller]
    sel = (syn >= 0) & ev.binding[ev.link_value]
    s, v, g = ev.link_seller[sel], ev.link_value[sel], syn[sel]
    # Values held by two or more members of the same syndicate; a value split across
    # syndicates pairs members of the same syndicate only.
    n_values = max(len(ev.values), 1)
    g_value = g * n_values + v
    shared = pd.Series(g_value).groupby(g_value).transform("size").to_numpy() >= 2
    s, v, g, g_value = s[shared], v[shared], g[shared], g_value[shared]
    a, b, row = pair_rows(s, g_value)
    type_code = pd.factorize(ev.values["signal_type"], sort=True)[0]
    bits = np.left_shift(np.int64(1), type_code[v[row]].astype(np.int64))
    a, b, red = reduce_pairs(a, b, n, w=(ev.evidence[v[row]], "sum"), bits=(bits, "or"))
    return _Inside(s, v, g, a, b, red["w"], red["bits"])


def _run_starts(sorted_key: np.ndarray) -> np.ndarray:
    if sorted_key.size == 0:
        return np.empty(0, np.int64)
    return np.r_[0, np.flatnonzero(np.diff(sorted_key)) + 1]


def _bit_labels(bits: np.ndarray, type_names: list[str]) -> np.ndarray:
    uniq, inv = np.unique(bits, return_inverse=True)
    labels = []
    for u in uniq:
        labels.append(",".join(t for i, t in enumerate(type_names) if (int(u) >> i) & 1) or None)
    return np.array(labels, dtype=object)[inv]


def _tables(ev: ValueEvidence, attrs: pd.DataFrame, syn_of: np.ndarray, p: SyndicateParams):
    n = len(ev.seller_ids)
    ins = _inside(ev, syn_of)
    in_syn = syn_of >= 0
    link_weight = np.bincount(ins.a, weights=ins.w, minlength=n) + np.bincount(
        ins.b, weights=ins.w, minlength=n
    )
    n_links = np.bincount(ins.a, minlength=n) + np.bincount(ins.b, minlength=n)
    seller_bits = np.zeros(n, dtype=np.int64)
    np.bitwise_or.at(seller_bits, ins.a, ins.type_bits)
    np.bitwise_or.at(seller_bits, ins.b, ins.type_bits)
    max_in_syn = np.zeros(n)
    np.maximum.at(max_in_syn, np.where(in_syn, syn_of, 0), np.where(in_syn, link_weight, 0.0))
    denominator = np.where(in_syn, max_in_syn[syn_of.clip(0)], 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        strength = np.where(
            in_syn, np.where(denominator > 0, link_weight / denominator, 1.0), np.nan
        )
    type_names = sorted(ev.values["signal_type"].unique().tolist())
    syn_ids = np.array([f"{p.id_prefix}{x}" for x in ev.seller_ids], dtype=object)
    seller_syndicates = pd.DataFrame(
        {
            "seller_id": ev.seller_ids,
            "syndicate_id": np.where(in_syn, syn_ids[syn_of.clip(0)], None),
            "membership_strength": strength,
            "n_links": np.where(in_syn, n_links, 0).astype(np.int64),
            "link_weight": np.where(in_syn, link_weight, 0.0),
            "tie_signal_types": np.where(in_syn, _bit_labels(seller_bits, type_names), None),
            "n_binding_values": np.bincount(ins.seller, minlength=n).astype(np.int64),
        }
    )
    syndicates = _syndicate_table(ev, attrs, syn_of, strength, ins, syn_ids, p)
    return seller_syndicates, syndicates


def _shapes(ins: _Inside, syn_codes: np.ndarray, size: np.ndarray, n: int) -> np.ndarray:
    """Shape of each syndicate from its graph (see the module docstring)."""
    k = len(syn_codes)
    loc_of = np.full(n, -1, dtype=np.int64)
    loc_of[syn_codes] = np.arange(k)
    # dense: one value held by every member.
    holders = pd.DataFrame({"g": loc_of[ins.syn], "v": ins.value}).groupby(["g", "v"]).size()
    widest = holders.groupby(level="g").max().reindex(range(k), fill_value=0).to_numpy()
    # degrees of members within their syndicate
    degree = np.bincount(ins.a, minlength=n) + np.bincount(ins.b, minlength=n)
    member_syn = np.full(n, -1, dtype=np.int64)
    member_syn[ins.seller] = loc_of[ins.syn]
    g_edge = member_syn[ins.a] if len(ins.a) else np.empty(0, np.int64)
    n_edges = np.bincount(g_edge, minlength=k)
    members = np.flatnonzero(member_syn >= 0)
    max_deg = np.zeros(k, dtype=np.int64)
    np.maximum.at(max_deg, member_syn[members], degree[members])
    # star: a centre tied to all others, the others tied to less than half their pairs
    rest_edges = n_edges - max_deg
    rest_pairs = np.maximum((size - 1) * (size - 2) / 2.0, 1.0)
    shape = np.full(k, "partial_overlap", dtype=object)
    shape[max_deg <= 2] = "chain"
    star = (max_deg == size - 1) & (rest_edges < 0.5 * rest_pairs)
    shape[star] = "star"
    shape[widest >= size] = "dense"
    return shape


def _syndicate_table(ev, attrs, syn_of, strength, ins: _Inside, syn_ids, p: SyndicateParams):
    members = np.flatnonzero(syn_of >= 0)
    if members.size == 0:
        return _empty(SYNDICATE_COLUMNS)
    n = len(ev.seller_ids)
    syn_codes, syn_local = np.unique(syn_of[members], return_inverse=True)
    k = len(syn_codes)
    size = np.bincount(syn_local, minlength=k)
    loc_of = np.full(n, -1, dtype=np.int64)
    loc_of[syn_codes] = np.arange(k)

    def _flag(col: str) -> np.ndarray:
        if col not in attrs.columns:
            return np.zeros(n, dtype=bool)
        return attrs[col].astype("boolean").fillna(False).to_numpy(dtype=bool)

    bad, enforced = _flag("is_confirmed_bad"), _flag("is_enforced")
    n_bad = np.bincount(syn_local, weights=bad[members], minlength=k).astype(np.int64)
    n_enf = np.bincount(syn_local, weights=enforced[members], minlength=k).astype(np.int64)

    e_loc = loc_of[syn_of[ins.a]] if len(ins.a) else np.empty(0, np.int64)
    n_edges = np.bincount(e_loc, minlength=k)
    sum_w = np.bincount(e_loc, weights=ins.w, minlength=k)
    density = n_edges / (size * (size - 1) / 2.0)
    mean_w = np.where(n_edges > 0, sum_w / np.maximum(n_edges, 1), 0.0)

    # Binding values shared by two or more members: per type counts and the listed hashes.
    vals = pd.DataFrame({"g": loc_of[ins.syn], "v": ins.value}).groupby(["g", "v"]).size()
    vals = vals.rename("holders").reset_index()
    vals["type"] = ev.values["signal_type"].to_numpy(dtype=object)[vals["v"]]
    vals["hash"] = ev.values["signal_value_hash"].to_numpy(dtype=object)[vals["v"]]
    per_type = vals.groupby(["g", "type"], sort=True).size().rename("n").reset_index()
    per_type = per_type.sort_values(["g", "n", "type"], ascending=[True, False, True])
    summary = (
        (per_type["type"] + ":" + per_type["n"].astype(str)).groupby(per_type["g"]).agg(", ".join)
    )
    vals = vals.sort_values(["g", "holders", "type", "hash"], ascending=[True, False, True, True])
    vals["rank"] = vals.groupby("g").cumcount()
    listed = vals[vals["rank"] < p.max_listed_values]
    text = (
        listed["type"]
        + ":"
        + listed["hash"].astype(str)
        + " ("
        + listed["holders"].astype(str)
        + ")"
    )
    identifiers = text.groupby(listed["g"]).agg("; ".join).reindex(range(k))
    n_vals = vals.groupby("g").size().reindex(range(k), fill_value=0).to_numpy()
    more = n_vals - np.minimum(n_vals, p.max_listed_values)
    identifiers = np.where(
        more > 0, identifiers.fillna("") + "; +" + more.astype(str) + " more", identifiers
    )

    # Adoption: members' earliest first use of a binding value they share.
    first_use = pd.Series(ev.link_first_ns[_link_rows(ev, ins)]).groupby(ins.seller).min()
    member_first = np.full(n, np.nan)
    member_first[first_use.index.to_numpy()] = first_use.to_numpy()
    g_first = pd.Series(member_first[members]).groupby(syn_local)
    span_days = ((g_first.max() - g_first.min()) / _DAY_NS).reindex(range(k)).to_numpy()
    rows = _link_rows(ev, ins)
    label = np.full(n, -1, dtype=np.int64)
    label[members] = syn_local
    log_p = _community_log_p(label, k, ins.seller, ev.link_u[rows], ev.link_arrival_u[rows])
    adoption_p = 10.0**log_p

    # Activity window: seller columns first, first observations as a fallback.
    first = _to_ns(attrs.get("first_activity_at"), n)
    for alt in ("registered_at", "onboarded_at"):
        first = np.where(np.isnan(first), _to_ns(attrs.get(alt), n), first)
    first = np.where(np.isnan(first), member_first, first)
    last = _to_ns(attrs.get("last_activity_at"), n)
    last = np.where(np.isnan(last), member_first, last)
    syn_first = pd.Series(first[members]).groupby(syn_local).min().reindex(range(k))
    syn_last = pd.Series(last[members]).groupby(syn_local).max().reindex(range(k))

    # Actionable list: unenforced members, strongest first.
    um = members[~enforced[members]]
    um_df = pd.DataFrame({"syn": loc_of[syn_of[um]], "strength": strength[um], "code": um})
    um_df = um_df.sort_values(["syn", "strength", "code"], ascending=[True, False, True])
    um_df["sid"] = ev.seller_ids[um_df["code"].to_numpy()].astype(str)
    unenforced = um_df.groupby("syn", sort=True)["sid"].agg(",".join).reindex(range(k))

    share_bad = n_bad / size
    bad_signal = np.minimum(1.0, 2.0 * share_bad)
    link_signal = 0.5 * density + 0.5 * np.minimum(1.0, mean_w / p.evidence_cap)
    size_signal = np.clip(np.log(size / 2.0) / np.log(20.0), 0.0, 1.0)
    risk = np.clip(0.55 * bad_signal + 0.30 * link_signal + 0.15 * size_signal, 0.0, 1.0)

    out = pd.DataFrame(
        {
            "syndicate_id": syn_ids[syn_codes],
            "size": size.astype(np.int64),
            "n_confirmed_bad": n_bad,
            "share_confirmed_bad": share_bad,
            "n_enforced": n_enf,
            "n_unenforced_members": (size - n_enf).astype(np.int64),
            "unenforced_member_ids": unenforced.to_numpy(dtype=object),
            "shared_signal_summary": summary.reindex(range(k)).to_numpy(dtype=object),
            "n_links": n_edges.astype(np.int64),
            "link_density": density,
            "mean_link_weight": mean_w,
            "first_activity_at": pd.to_datetime(syn_first.to_numpy(), unit="ns"),
            "last_activity_at": pd.to_datetime(syn_last.to_numpy(), unit="ns"),
            "risk_score": risk,
            "shape": _shapes(ins, syn_codes, size, n),
            "n_binding_values": n_vals.astype(np.int64),
            "binding_identifiers": np.asarray(identifiers, dtype=object),
            "adoption_span_days": span_days,
            "adoption_p_value": adoption_p,
        }
    )
    out = out.sort_values(["risk_score", "syndicate_id"], ascending=[False, True], kind="stable")
    return out.reset_index(drop=True)


def _link_rows(ev: ValueEvidence, ins: _Inside) -> np.ndarray:
    """Row of each inside link (seller, value) in the evidence's link arrays."""
    n_values = max(len(ev.values), 1)
    key = ev.link_seller * n_values + ev.link_value
    order = np.argsort(key, kind="stable")
    pos = np.searchsorted(key[order], ins.seller * n_values + ins.value)
    return order[pos]
