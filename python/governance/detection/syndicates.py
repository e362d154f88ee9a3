"""Syndicate (seller ring) detection from shared identity signals.

Bad sellers operating as a ring re-use identifiers: devices, bank accounts, phone numbers,
addresses, IP addresses. Innocent sharing exists too: a public IP or a co-working address used
by hundreds of unrelated sellers, a family sharing one device. :func:`detect_syndicates` turns
the seller-level identity-signal table into weighted seller-to-seller links and clusters them:

1. **Value weights.** Values seen on a single seller are discarded first (before any string
   is sorted). A value shared by ``s`` sellers gives every pair of them
   ``signal_weight[type] * rarity(s)`` with ``rarity(s) = 1 / (1 + decay[type] * log2(s / 2))``
   (1 for a value shared by exactly two sellers; IPs and addresses decay faster than devices,
   bank accounts and phones). Default weights: bank account 1.0, device 0.7, phone 0.7,
   address 0.4, IP 0.2. Values shared by more than the type's ``max_share`` sellers are hubs
   and are dropped *before* any pair is generated, so a public IP with 500 sellers never
   produces its 125k pairs. Strong identifiers (bank account, device, phone) have a higher hub
   cut-off (300) than IPs and addresses (25): a bank account behind 200 new sellers is a ring
   signature, an IP behind 200 sellers is a café.
2. **Pair weights.** Weights are summed per seller pair over all shared values. Pairs that share
   at least one value get small behavioural boosts: registered within
   ``registration_window_days`` of each other, same region, same primary category.
3. **Edges and chaining guard.** Pairs with weight ``>= edge_threshold`` (0.8) are edges
   (optionally, with ``min_tie_types``, a pair that needs the boosts to get there must share
   several signal types). Sellers are then pruned iteratively unless they keep
   ``>= min_member_links`` edges or one edge of weight ``>= strong_edge_weight``; this stops
   single incidental links (one shared device with a relative) from chaining unrelated sellers
   into a ring.
4. **Clusters.** Connected components (``scipy.sparse.csgraph``) of the pruned graph with at
   least ``min_size`` members are syndicates. ``syndicate_id = id_prefix + smallest seller_id``,
   stable under any reordering of the input.

Outputs: a seller-grain table (``seller_syndicates``) and a syndicate-grain table
(``syndicates``) with a ``risk_score``:

    risk_score = 0.55 * bad_signal + 0.30 * link_signal + 0.15 * size_signal

* ``bad_signal = min(1, 2 * share_confirmed_bad)`` (half the members confirmed bad saturates);
* ``link_signal = 0.5 * link_density + 0.5 * min(1, mean_link_weight / (2 * edge_threshold))``;
* ``size_signal = min(1, log(size / 2) / log(20))`` (40 members saturate).

:func:`naive_connected_components` is the baseline (components over every shared value,
hubs included). :func:`pairwise_prf` and :func:`adjusted_rand` evaluate a clustering against
known rings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse
from scipy.sparse import csgraph

from governance.detection._params import coerce, params_from_mapping

DEFAULT_SIGNAL_WEIGHTS: dict[str, float] = {
    "bank_account": 1.0,
    "device_id": 0.7,
    "phone": 0.7,
    "address": 0.4,
    "ip_address": 0.2,
}
DEFAULT_RARITY_DECAY_BY_TYPE: dict[str, float] = {
    "address": 0.5,
    "ip_address": 0.5,
}
DEFAULT_MAX_SHARE_BY_TYPE: dict[str, int] = {
    "bank_account": 300,
    "device_id": 300,
    "phone": 300,
}

# The seller columns the detection uses (all optional except seller_id).
SELLER_ATTRIBUTE_COLUMNS = [
    "seller_id",
    "region",
    "primary_category",
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
]


@dataclass(frozen=True)
class SyndicateParams:
    """Tuning of :func:`detect_syndicates`.

    Attributes:
        signal_weights: weight of one exclusively shared value, per signal type.
        default_signal_weight: weight of signal types missing from ``signal_weights``.
        max_share: values shared by more sellers than this are hubs and ignored.
        max_share_by_type: per-type override of ``max_share``.
        rarity_decay: how fast a value's weight falls with the number of sellers sharing it.
        rarity_decay_by_type: per-type override of ``rarity_decay`` (shared IPs and addresses
            lose weight faster than shared devices, bank accounts and phones).
        edge_threshold: minimum summed pair weight for a link.
        min_tie_types: a pair whose shared values alone (without behavioural boosts) stay
            below ``edge_threshold`` must share values of at least this many signal types
            (1: off). 2 stops a single shared family device plus a close registration date
            from making a tie, at the cost of missing rings whose pairs share one type only.
        min_member_links: links a seller needs to stay in a cluster ...
        strong_edge_weight: ... unless one of its links is at least this strong.
        min_size: smallest cluster reported as a syndicate.
        registration_window_days, registration_boost: boost for pairs registered close together.
        same_region_boost, same_category_boost: boosts for pairs in the same region / primary
            category. Boosts only apply to pairs that already share a value.
        pair_batch: pairs generated per batch (memory bound).
        id_prefix: prefix of syndicate ids.
    """

    signal_weights: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_SIGNAL_WEIGHTS)
    )
    default_signal_weight: float = 0.3
    max_share: int = 25
    max_share_by_type: Mapping[str, int] = field(
        default_factory=lambda: dict(DEFAULT_MAX_SHARE_BY_TYPE)
    )
    rarity_decay: float = 0.1
    rarity_decay_by_type: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_RARITY_DECAY_BY_TYPE)
    )
    edge_threshold: float = 0.8
    min_tie_types: int = 1
    min_member_links: int = 2
    strong_edge_weight: float = 1.5
    min_size: int = 3
    registration_window_days: float = 7.0
    registration_boost: float = 0.25
    same_region_boost: float = 0.05
    same_category_boost: float = 0.05
    pair_batch: int = 5_000_000
    id_prefix: str = "SYN-"

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> SyndicateParams:
        """Build from a mapping such as dbt vars (values may be strings); unknown keys and
        ``None`` values are ignored. Per-type mappings are merged into the defaults."""
        defaults = cls()

        def merged(name: str):
            base = dict(getattr(defaults, name))
            return lambda raw: {**base, **coerce(raw, base)}

        return params_from_mapping(
            cls,
            values,
            **{
                name: merged(name)
                for name in ("signal_weights", "max_share_by_type", "rarity_decay_by_type")
            },
        )

    def weight_of(self, signal_type: str) -> float:
        return float(self.signal_weights.get(signal_type, self.default_signal_weight))

    def rarity_decay_of(self, signal_type: str) -> float:
        return float(self.rarity_decay_by_type.get(signal_type, self.rarity_decay))

    def max_share_of(self, signal_type: str) -> int:
        return int(self.max_share_by_type.get(signal_type, self.max_share))


# --------------------------------------------------------------------------------------------
# Encoding helpers
# --------------------------------------------------------------------------------------------


@dataclass
class _Encoded:
    seller_ids: np.ndarray  # sorted unique seller ids (original values)
    seller: np.ndarray  # seller code per (seller, value) link, deduplicated
    value: np.ndarray  # value code per link
    value_type: np.ndarray  # signal type code per value
    type_names: list[str]
    link_first: np.ndarray | None
    link_last: np.ndarray | None


def _is_text(col: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(col) and not pd.api.types.is_object_dtype(col)


def _arrow_text(col: pd.Series, large: bool = False) -> pa.Array:
    arr = pa.array(col)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if large and arr.type != pa.large_string():
        arr = arr.cast(pa.large_string())
    return arr


def _seller_index(links: pd.DataFrame, sellers: pd.DataFrame | None) -> np.ndarray:
    """Sorted unique seller ids of both inputs (the seller codes used throughout)."""
    cols = [links["seller_id"]]
    if sellers is not None and "seller_id" in sellers.columns:
        cols.append(sellers["seller_id"])
    if all(_is_text(c) for c in cols):
        # Arrow keeps millions of ids compact (no Python string objects while deduplicating).
        ids = pc.unique(pa.chunked_array([_arrow_text(c, large=True) for c in cols]))
        ids = ids.drop_null()
        return ids.take(pc.array_sort_indices(ids)).to_numpy(zero_copy_only=False)
    parts = [c.dropna() for c in cols]
    ids = pd.Index(pd.concat(parts, ignore_index=True).unique())
    return ids.sort_values().to_numpy()


def _codes_in(col: pd.Series, sorted_values: np.ndarray) -> np.ndarray:
    """Position of each value of ``col`` in ``sorted_values`` (all present)."""
    if _is_text(col):
        values = pa.array(sorted_values, type=pa.large_string())
        arr = _arrow_text(col, large=True)
        return pc.index_in(arr, value_set=values).to_numpy(zero_copy_only=False).astype(np.int64)
    return pd.Index(sorted_values).get_indexer(col).astype(np.int64)


def _factorize_sorted(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of ``col`` in the order of its sorted distinct values (no nulls)."""
    if _is_text(col):
        enc = pc.dictionary_encode(_arrow_text(col))
        order = pc.array_sort_indices(enc.dictionary).to_numpy()
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        codes = rank[enc.indices.to_numpy(zero_copy_only=False)]
        return codes, enc.dictionary.take(pa.array(order)).to_numpy(zero_copy_only=False)
    codes, uniques = pd.factorize(col.astype(str), sort=True)
    return codes.astype(np.int64), np.asarray(uniques)


def _shared_value_codes(values: pd.Series, types: np.ndarray) -> np.ndarray:
    """Code of each row's (signal type, value) among values that occur on two or more rows,
    numbered in sorted (type, value) order; -1 for values seen once (they link no one).

    Values seen once are dropped before anything is sorted, so millions of personal
    identifiers cost a hash pass only.
    """
    if _is_text(values):
        enc = pc.dictionary_encode(_arrow_text(values))
        raw = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        dictionary = enc.dictionary
    else:
        raw, uniques = pd.factorize(values.astype(str), sort=False)
        dictionary = pa.array(np.asarray(uniques, dtype=object), type=pa.large_string())
    key = raw * (int(types.max(initial=0)) + 1) + types
    uniq, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    repeated = np.flatnonzero(counts >= 2)
    if repeated.size == 0:
        return np.full(len(key), -1, dtype=np.int64)
    text = dictionary.take(pa.array(uniq[repeated] // (int(types.max(initial=0)) + 1)))
    order = np.lexsort(
        (text.to_numpy(zero_copy_only=False), uniq[repeated] % (int(types.max(initial=0)) + 1))
    )
    code_of_key = np.full(len(uniq), -1, dtype=np.int64)
    code_of_key[repeated[order]] = np.arange(len(order))
    return code_of_key[inverse]


def _encode(links: pd.DataFrame, seller_ids: np.ndarray) -> _Encoded:
    required = {"seller_id", "signal_type", "signal_value_hash"}
    missing = sorted(required - set(links.columns))
    if missing:
        raise ValueError(f"links is missing required columns: {missing}")
    cols = [c for c in (*required, "first_observed_at", "last_observed_at") if c in links]
    ok = (
        links["seller_id"].notna()
        & links["signal_type"].notna()
        & links["signal_value_hash"].notna()
    ).to_numpy()
    lk = links[cols] if ok.all() else links.loc[ok, cols]
    t_code, type_names = _factorize_sorted(lk["signal_type"])
    value = _shared_value_codes(lk["signal_value_hash"], t_code)
    shared = value >= 0
    lk = lk.loc[shared]
    value, t_code = value[shared], t_code[shared]
    seller = _codes_in(lk["seller_id"], seller_ids)
    n_values = int(value.max(initial=-1)) + 1
    value_type = np.zeros(n_values, dtype=np.int64)
    value_type[value] = t_code
    # One link per (seller, value); keep the widest observation window.
    pair = seller * max(n_values, 1) + value
    order = np.argsort(pair, kind="stable")
    pair_sorted = pair[order]
    first_idx = np.r_[0, np.flatnonzero(np.diff(pair_sorted)) + 1] if len(pair_sorted) else []
    first_idx = np.asarray(first_idx, dtype=np.int64)

    def _reduce_time(col: str, how: str) -> np.ndarray | None:
        if col not in lk.columns:
            return None
        t = _to_ns(lk[col], len(lk))[order]
        if len(first_idx) == 0:
            return np.array([])
        filled = np.where(np.isnan(t), np.inf if how == "min" else -np.inf, t)
        red = (np.minimum if how == "min" else np.maximum).reduceat(filled, first_idx)
        return np.where(np.isfinite(red), red, np.nan)

    return _Encoded(
        seller_ids=seller_ids,
        seller=seller[order][first_idx],
        value=value[order][first_idx].astype(np.int64),
        value_type=value_type,
        type_names=[str(x) for x in type_names],
        link_first=_reduce_time("first_observed_at", "min"),
        link_last=_reduce_time("last_observed_at", "max"),
    )


def _seller_attributes(sellers: pd.DataFrame | None, seller_ids: np.ndarray) -> pd.DataFrame:
    """Seller features aligned to ``seller_ids``; missing columns become nulls."""
    base = pd.DataFrame(index=pd.Index(seller_ids, name="seller_id"))
    if sellers is None or "seller_id" not in sellers.columns:
        return base
    s = sellers.drop_duplicates("seller_id", keep="first").set_index("seller_id")
    return base.join(s, how="left")


def _to_ns(series: pd.Series | None, n: int) -> np.ndarray:
    """Timestamps as float nanoseconds since the epoch (UTC for zoned values), NaN for nulls."""
    if series is None:
        return np.full(n, np.nan)
    t = pd.to_datetime(pd.Series(series).reset_index(drop=True), errors="coerce", utc=True)
    raw = t.dt.tz_localize(None).to_numpy("datetime64[ns]").astype(np.int64)
    out = raw.astype(float)
    out[raw == np.iinfo(np.int64).min] = np.nan
    return out


# --------------------------------------------------------------------------------------------
# Pairs
# --------------------------------------------------------------------------------------------


def _pairs_in_groups(first: int, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All index pairs (i, j), i < j, inside consecutive groups of the given sizes that start
    at position ``first`` of the underlying array."""
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
    return first + left, first + left + step + 1


def _reduce_pairs(
    key: np.ndarray, weight: np.ndarray, bits: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if key.size == 0:
        return key, weight, bits
    order = np.argsort(key, kind="stable")
    key, weight, bits = key[order], weight[order], bits[order]
    starts = np.r_[0, np.flatnonzero(np.diff(key)) + 1]
    return key[starts], np.add.reduceat(weight, starts), np.bitwise_or.reduceat(bits, starts)


def _pair_weights(enc: _Encoded, p: SyndicateParams):
    """Summed pair weights (seller a < seller b) over shared non-hub values."""
    n_values = len(enc.value_type)
    share = np.bincount(enc.value, minlength=n_values)
    type_weight = np.array([p.weight_of(t) for t in enc.type_names])
    type_cap = np.array([p.max_share_of(t) for t in enc.type_names])
    type_decay = np.array([p.rarity_decay_of(t) for t in enc.type_names])
    usable = (share >= 2) & (share <= type_cap[enc.value_type])
    with np.errstate(divide="ignore"):
        decay = type_decay[enc.value_type]
        rarity = 1.0 / (1.0 + decay * np.log2(np.maximum(share, 2) / 2.0))
    value_weight = np.where(usable, type_weight[enc.value_type] * rarity, 0.0)

    sel = usable[enc.value]
    v = enc.value[sel]
    s = enc.seller[sel]
    order = np.lexsort((s, v))
    v, s = v[order], s[order]
    if v.size == 0:
        e = np.empty(0, np.int64)
        return e, e, np.empty(0), e, usable
    starts = np.r_[0, np.flatnonzero(np.diff(v)) + 1]
    sizes = np.diff(np.r_[starts, v.size])
    group_value = v[starts]
    n_pairs = sizes * (sizes - 1) // 2
    cum = np.cumsum(n_pairs)
    n_sellers = len(enc.seller_ids)
    keys, weights, bits = [], [], []
    g0 = 0
    while g0 < len(starts):
        base = cum[g0 - 1] if g0 > 0 else 0
        g1 = int(np.searchsorted(cum, base + p.pair_batch, side="right"))
        g1 = max(g1, g0 + 1)
        gz = sizes[g0:g1]
        left, right = _pairs_in_groups(int(starts[g0]), gz)
        gv = np.repeat(group_value[g0:g1], gz * (gz - 1) // 2)
        a, b = s[left], s[right]
        key = np.minimum(a, b) * n_sellers + np.maximum(a, b)
        w = value_weight[gv]
        bit = np.left_shift(np.int64(1), enc.value_type[gv].astype(np.int64))
        k_, w_, b_ = _reduce_pairs(key, w, bit)
        keys.append(k_)
        weights.append(w_)
        bits.append(b_)
        g0 = g1
    key, weight, bit = _reduce_pairs(
        np.concatenate(keys), np.concatenate(weights), np.concatenate(bits)
    )
    return key // n_sellers, key % n_sellers, weight, bit, usable


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def _strong_pairs(enc: _Encoded, attrs: pd.DataFrame, p: SyndicateParams):
    """Seller pairs (a < b) whose boosted weight makes an edge, with that weight, the signal
    types they share (bit set) and the usable (non-hub, shared) values."""
    n = len(enc.seller_ids)
    a, b, w, bits, usable = _pair_weights(enc, p)
    signal_w = w.copy()

    # Behavioural boosts for pairs that already share something.
    if len(a):
        reg = _to_ns(attrs.get("registered_at", attrs.get("onboarded_at")), n)
        window = p.registration_window_days * 86_400e9
        close = np.abs(reg[a] - reg[b]) <= window
        w = w + p.registration_boost * np.nan_to_num(close)
        for col, boost in (
            ("region", p.same_region_boost),
            ("primary_category", p.same_category_boost),
        ):
            if col in attrs.columns and boost:
                codes = pd.factorize(attrs[col])[0]
                w = w + boost * ((codes[a] == codes[b]) & (codes[a] >= 0))

    n_types = np.zeros(len(a), dtype=np.int64)
    for i in range(len(enc.type_names)):
        n_types += (bits >> i) & 1
    strong = (w >= p.edge_threshold) & (
        (signal_w >= p.edge_threshold) | (n_types >= p.min_tie_types)
    )
    a, b, w, bits = a[strong], b[strong], w[strong], bits[strong]
    return a, b, w, bits, usable


def detect_syndicates(
    links: pd.DataFrame,
    sellers: pd.DataFrame | None = None,
    params: SyndicateParams | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cluster sellers into syndicates from shared identity signals.

    Args:
        links: one row per ``seller_id, signal_type, signal_value_hash`` (optionally
            ``n_observations, first_observed_at, last_observed_at``). Duplicate rows are merged.
        sellers: seller features; used columns (all optional except ``seller_id``):
            ``region, primary_category, registered_at, onboarded_at, is_confirmed_bad,
            is_enforced, first_activity_at, last_activity_at``.
        params: tuning; defaults to :class:`SyndicateParams()`.

    Returns:
        ``(seller_syndicates, syndicates)``.

        ``seller_syndicates``: one row per seller in ``links`` or ``sellers``, sorted by
        ``seller_id``: ``seller_id, syndicate_id`` (null when in none),
        ``membership_strength`` (0-1: the seller's summed link weight inside its syndicate
        divided by the largest such sum among the members; null outside syndicates),
        ``n_links`` (links to fellow members), ``link_weight`` (their summed weight),
        ``tie_signal_types`` (sorted, comma-separated signal types of those links).

        ``syndicates``: one row per syndicate, sorted by ``risk_score`` descending then id:
        ``syndicate_id, size, n_confirmed_bad, share_confirmed_bad, n_enforced,
        n_unenforced_members, unenforced_member_ids`` (comma-separated, strongest members
        first), ``shared_signal_summary`` (e.g. ``'bank_account:2, device_id:1'``: distinct
        non-hub values of each type shared by two or more members), ``n_links,
        link_density, mean_link_weight, first_activity_at, last_activity_at, risk_score``.
    """
    p = params or SyndicateParams()
    seller_ids = _seller_index(links, sellers)
    n = len(seller_ids)
    enc = _encode(links, seller_ids)
    attrs = _seller_attributes(sellers, seller_ids)
    a, b, w, bits, usable = _strong_pairs(enc, attrs, p)

    # Chaining guard: iteratively drop sellers with too little support.
    alive = np.ones(len(a), dtype=bool)
    for _ in range(100):
        deg = np.bincount(a[alive], minlength=n) + np.bincount(b[alive], minlength=n)
        max_w = np.zeros(n)
        np.maximum.at(max_w, a[alive], w[alive])
        np.maximum.at(max_w, b[alive], w[alive])
        ok_node = (deg >= p.min_member_links) | (max_w >= p.strong_edge_weight)
        new_alive = alive & ok_node[a] & ok_node[b]
        if new_alive.sum() == alive.sum():
            break
        alive = new_alive
    a, b, w, bits = a[alive], b[alive], w[alive], bits[alive]

    graph = sparse.coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n)).tocsr()
    _, comp = csgraph.connected_components(graph, directed=False)
    comp_size = np.bincount(comp, minlength=n)
    in_syn = comp_size[comp] >= p.min_size

    # Syndicate id: prefix + smallest seller id (seller codes follow sorted ids).
    first_member = np.full(comp.max(initial=0) + 1, n, dtype=np.int64)
    np.minimum.at(first_member, comp, np.arange(n))
    syn_of = np.where(in_syn, first_member[comp], -1)
    syn_ids = np.array([f"{p.id_prefix}{x}" for x in seller_ids], dtype=object)

    # Per-seller link statistics inside the syndicate.
    link_weight = np.bincount(a, weights=w, minlength=n) + np.bincount(b, weights=w, minlength=n)
    n_links = np.bincount(a, minlength=n) + np.bincount(b, minlength=n)
    seller_bits = np.zeros(n, dtype=np.int64)
    np.bitwise_or.at(seller_bits, a, bits)
    np.bitwise_or.at(seller_bits, b, bits)
    max_in_syn = np.zeros(n)
    np.maximum.at(max_in_syn, np.where(in_syn, syn_of, 0), np.where(in_syn, link_weight, 0.0))
    strength = np.where(
        in_syn, link_weight / np.where(in_syn, max_in_syn[syn_of.clip(0)], 1.0), np.nan
    )
    bit_labels = _bit_labels(seller_bits, enc.type_names)

    seller_syndicates = pd.DataFrame(
        {
            "seller_id": seller_ids,
            "syndicate_id": np.where(in_syn, syn_ids[syn_of.clip(0)], None),
            "membership_strength": strength,
            "n_links": np.where(in_syn, n_links, 0).astype(np.int64),
            "link_weight": np.where(in_syn, link_weight, 0.0),
            "tie_signal_types": np.where(in_syn, bit_labels, None),
        }
    )
    syndicates = _syndicate_table(
        enc, attrs, seller_ids, syn_of, in_syn, strength, a, b, w, usable, syn_ids, p
    )
    return seller_syndicates, syndicates


def summarize_syndicates(
    links: pd.DataFrame,
    sellers: pd.DataFrame | None,
    seller_syndicates: pd.DataFrame,
    params: SyndicateParams | None = None,
) -> pd.DataFrame:
    """The ``syndicates`` table of :func:`detect_syndicates`, from its ``seller_syndicates``
    output and the same ``links``, ``sellers`` and ``params``, without clustering again.

    Only the values some member holds are scored (with every seller holding them, so rarity and
    hub caps are those of the clustering); the edges kept are the strong pairs of members of the
    same syndicate, which are exactly the links the clustering kept inside syndicates (a member
    keeps its support to the end of the chaining guard, so none of its strong links is pruned).

    Args:
        links, sellers, params: as given to :func:`detect_syndicates`.
        seller_syndicates: its seller-level output; used columns ``seller_id, syndicate_id,
            membership_strength`` (sellers outside syndicates may be left out).
    """
    p = params or SyndicateParams()
    required = {"seller_id", "syndicate_id", "membership_strength"}
    missing = sorted(required - set(seller_syndicates.columns))
    if missing:
        raise ValueError(f"seller_syndicates is missing required columns: {missing}")
    members = seller_syndicates.loc[seller_syndicates["syndicate_id"].notna(), list(required)]
    if members.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in SYNDICATE_COLUMNS})
    value_key = ["signal_type", "signal_value_hash"]
    held = links.loc[links["seller_id"].isin(members["seller_id"]), value_key].drop_duplicates()
    scored = links.merge(held, on=value_key, how="inner")
    if sellers is not None and "seller_id" in sellers.columns:
        # Only the holders of those values matter (pair boosts, member attributes).
        sellers = sellers[sellers["seller_id"].isin(scored["seller_id"])]

    seller_ids = _seller_index(scored, sellers)
    n = len(seller_ids)
    enc = _encode(scored, seller_ids)
    attrs = _seller_attributes(sellers, seller_ids)
    a, b, w, _, usable = _strong_pairs(enc, attrs, p)

    code = pd.Index(seller_ids).get_indexer(members["seller_id"].astype(object)).astype(np.int64)
    if (code < 0).any():
        unknown = members["seller_id"][code < 0].head(3).tolist()
        raise ValueError(f"seller_syndicates has members absent from links and sellers: {unknown}")
    # A syndicate's code is its smallest member's (ids are the prefix and that seller's id).
    first = pd.Series(code).groupby(members["syndicate_id"].to_numpy()).transform("min")
    syn_of = np.full(n, -1, dtype=np.int64)
    syn_of[code] = first.to_numpy()
    in_syn = syn_of >= 0
    strength = np.full(n, np.nan)
    strength[code] = members["membership_strength"].to_numpy(dtype=float)
    inside = in_syn[a] & (syn_of[a] == syn_of[b])
    syn_ids = np.array([f"{p.id_prefix}{x}" for x in seller_ids], dtype=object)
    return _syndicate_table(
        enc,
        attrs,
        seller_ids,
        syn_of,
        in_syn,
        strength,
        a[inside],
        b[inside],
        w[inside],
        usable,
        syn_ids,
        p,
    )


def _bit_labels(bits: np.ndarray, type_names: list[str]) -> np.ndarray:
    uniq, inv = np.unique(bits, return_inverse=True)
    names = sorted(range(len(type_names)), key=lambda i: type_names[i])
    labels = []
    for u in uniq:
        labels.append(",".join(type_names[i] for i in names if (int(u) >> i) & 1) or None)
    return np.array(labels, dtype=object)[inv]


def _syndicate_table(
    enc, attrs, seller_ids, syn_of, in_syn, strength, a, b, w, usable, syn_ids, p: SyndicateParams
) -> pd.DataFrame:
    members = np.flatnonzero(in_syn)
    if members.size == 0:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in SYNDICATE_COLUMNS})
    n = len(seller_ids)
    syn_codes, syn_local = np.unique(syn_of[members], return_inverse=True)
    k = len(syn_codes)
    size = np.bincount(syn_local, minlength=k)

    def _flag(col: str) -> np.ndarray:
        if col not in attrs.columns:
            return np.zeros(n, dtype=bool)
        return attrs[col].astype("boolean").fillna(False).to_numpy(dtype=bool)

    bad = _flag("is_confirmed_bad")
    enforced = _flag("is_enforced")
    n_bad = np.bincount(syn_local, weights=bad[members], minlength=k).astype(np.int64)
    n_enf = np.bincount(syn_local, weights=enforced[members], minlength=k).astype(np.int64)

    # Links inside each syndicate (every kept link joins two members of the same component).
    edge_syn = syn_of[a]
    inside = (edge_syn >= 0) & (edge_syn == syn_of[b])
    loc_of = np.full(n, -1, dtype=np.int64)
    loc_of[syn_codes] = np.arange(k)
    e_loc = loc_of[edge_syn[inside]]
    n_edges = np.bincount(e_loc, minlength=k)
    sum_w = np.bincount(e_loc, weights=w[inside], minlength=k)
    density = n_edges / (size * (size - 1) / 2.0)
    mean_w = np.where(n_edges > 0, sum_w / np.maximum(n_edges, 1), 0.0)

    # Shared values among members, per type.
    seller_syn_loc = np.full(n, -1, dtype=np.int64)
    seller_syn_loc[members] = syn_local
    link_syn = seller_syn_loc[enc.seller]
    sel = (link_syn >= 0) & usable[enc.value]
    vs = pd.DataFrame({"syn": link_syn[sel], "value": enc.value[sel]})
    vcount = vs.groupby(["syn", "value"], sort=True).size()
    shared = vcount[vcount >= 2].reset_index()[["syn", "value"]]
    shared["type"] = np.asarray(enc.type_names, dtype=object)[enc.value_type[shared["value"]]]
    per_type = shared.groupby(["syn", "type"], sort=True).size().rename("n").reset_index()
    per_type = per_type.sort_values(["syn", "n", "type"], ascending=[True, False, True])
    summary = (
        (per_type["type"] + ":" + per_type["n"].astype(str)).groupby(per_type["syn"]).agg(", ".join)
    )
    summary_arr = summary.reindex(range(k)).to_numpy(dtype=object)

    # Activity window: seller columns first, signal observations as a fallback.
    first = _to_ns(attrs.get("first_activity_at"), n)
    for alt in ("registered_at", "onboarded_at"):
        first = np.where(np.isnan(first), _to_ns(attrs.get(alt), n), first)
    last = _to_ns(attrs.get("last_activity_at"), n)
    if enc.link_first is not None:
        lf = np.full(n, np.inf)
        np.minimum.at(lf, enc.seller, np.where(np.isnan(enc.link_first), np.inf, enc.link_first))
        first = np.where(np.isnan(first), np.where(np.isfinite(lf), lf, np.nan), first)
    if enc.link_last is not None:
        ll = np.full(n, -np.inf)
        np.maximum.at(ll, enc.seller, np.where(np.isnan(enc.link_last), -np.inf, enc.link_last))
        last = np.where(np.isnan(last), np.where(np.isfinite(ll), ll, np.nan), last)
    syn_first = pd.Series(first[members]).groupby(syn_local).min().reindex(range(k))
    syn_last = pd.Series(last[members]).groupby(syn_local).max().reindex(range(k))

    # Actionable list: unenforced members, strongest first.
    um = members[~enforced[members]]
    um_df = pd.DataFrame(
        {"syn": seller_syn_loc[um], "strength": strength[um], "code": um}
    ).sort_values(["syn", "strength", "code"], ascending=[True, False, True])
    um_df["sid"] = seller_ids[um_df["code"].to_numpy()].astype(str)
    unenforced = um_df.groupby("syn", sort=True)["sid"].agg(",".join).reindex(range(k))

    share_bad = n_bad / size
    bad_signal = np.minimum(1.0, 2.0 * share_bad)
    link_signal = 0.5 * density + 0.5 * np.minimum(1.0, mean_w / (2.0 * p.edge_threshold))
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
            "shared_signal_summary": summary_arr,
            "n_links": n_edges.astype(np.int64),
            "link_density": density,
            "mean_link_weight": mean_w,
            "first_activity_at": pd.to_datetime(syn_first.to_numpy(), unit="ns"),
            "last_activity_at": pd.to_datetime(syn_last.to_numpy(), unit="ns"),
            "risk_score": risk,
        }
    )
    out = out.sort_values(["risk_score", "syndicate_id"], ascending=[False, True], kind="stable")
    return out.reset_index(drop=True)


def naive_connected_components(links: pd.DataFrame, id_prefix: str = "CC-") -> pd.DataFrame:
    """Baseline clustering: connected components over every shared value, hubs included.

    Returns ``seller_id, cluster_id, cluster_size`` for every seller in ``links`` (singletons
    get their own cluster); ``cluster_id = id_prefix + smallest seller_id``.
    """
    seller_ids = _seller_index(links, None)
    enc = _encode(links, seller_ids)
    n = len(seller_ids)
    n_values = len(enc.value_type)
    graph = sparse.coo_matrix(
        (np.ones(len(enc.seller)), (enc.seller, n + enc.value)), shape=(n + n_values,) * 2
    ).tocsr()
    _, comp = csgraph.connected_components(graph, directed=False)
    comp = comp[:n]
    first_member = np.full(comp.max(initial=0) + 1, n, dtype=np.int64)
    np.minimum.at(first_member, comp, np.arange(n))
    ids = np.array([f"{id_prefix}{x}" for x in seller_ids], dtype=object)
    return pd.DataFrame(
        {
            "seller_id": seller_ids,
            "cluster_id": ids[first_member[comp]],
            "cluster_size": np.bincount(comp)[comp].astype(np.int64),
        }
    )


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


def _aligned_labels(pred: pd.Series, truth: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer labels over the union of sellers; null labels become singleton clusters."""
    index = pred.index.union(truth.index)
    pr = pred[~pred.index.duplicated()].reindex(index)
    tr = truth[~truth.index.duplicated()].reindex(index)
    out = []
    for s in (pr, tr):
        codes = pd.factorize(s, use_na_sentinel=True)[0].astype(np.int64)
        na = codes < 0
        codes[na] = codes.max(initial=-1) + 1 + np.arange(int(na.sum()))
        out.append(codes)
    return out[0], out[1]


def _pairs(counts: np.ndarray) -> int:
    c = counts.astype(np.int64)
    return int((c * (c - 1) // 2).sum())


def pairwise_prf(pred: pd.Series, truth: pd.Series) -> dict[str, float]:
    """Pairwise precision, recall and F1 of a clustering against known rings.

    ``pred`` and ``truth`` map seller_id (index) to a cluster / ring label; null labels and
    sellers missing from one side are singletons. A pair of sellers is predicted positive when
    both are in the same predicted cluster, truly positive when in the same ring. Counted from
    the contingency table (``sum C(n_ij, 2)``), never by listing pairs. With no predicted
    (true) pairs, precision (recall) is 1.0 by convention.

    Returns ``precision, recall, f1, tp_pairs, pred_pairs, true_pairs``.
    """
    pl, tl = _aligned_labels(pred, truth)
    pred_pairs = _pairs(np.bincount(pl))
    true_pairs = _pairs(np.bincount(tl))
    joint = pl * (tl.max(initial=0) + 1) + tl
    tp = _pairs(np.unique(joint, return_counts=True)[1])
    precision = tp / pred_pairs if pred_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "tp_pairs": tp,
        "pred_pairs": pred_pairs,
        "true_pairs": true_pairs,
    }


def adjusted_rand(pred: pd.Series, truth: pd.Series) -> float:
    """Adjusted Rand index over the union of sellers (null labels are singletons)."""
    from sklearn.metrics import adjusted_rand_score

    pl, tl = _aligned_labels(pred, truth)
    return float(adjusted_rand_score(tl, pl))
