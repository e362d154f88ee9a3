"""Seller identity-signal event log: personal, ring-shared and innocent hub signals."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from scipy import sparse
from scipy.sparse import csgraph

from . import config as C
from .pii import signal_values
from .sellers import (
    ADDRESS,
    BANK,
    DEVICE,
    FAMILY_CODE,
    PHONE,
    RING_SHAPES,
    RING_VALUE_SLOTS,
    SellerData,
)
from .util import Clock, ids, rng_for, take_str

# value-code spaces (per signal type): personal < 2**22, second personal < 2**23,
# ring values from 2**23, hub values from 2**23 + 2**22.
SECOND_OFFSET = 1 << 22
RING_OFFSET = 1 << 23
HUB_OFFSET = (1 << 23) + (1 << 22)
OBS_LAMBDA = np.array([2.5, 2.5, 0.8, 0.6, 0.6])  # extra observations per assignment and type


def assignments(sd: SellerData, seed: int):
    """(seller, signal_type, value_code, region_of_value, adopted_in_life) for every
    seller-value pair; ``adopted_in_life`` is True when the seller first uses the value at some
    point of its activity (second devices, public IPs, co-working addresses, office IPs), False
    when at registration (its own identifiers, ring values, family and agent values)."""
    rng = rng_for(seed, "signals")
    n = sd.n
    idx = np.arange(n, dtype=np.int64)
    seller, stype, code, vreg, life = [], [], [], [], []

    def add(s, t, c, r, in_life=False):
        seller.append(np.asarray(s, np.int64))
        stype.append(np.broadcast_to(np.asarray(t, np.int8), (len(s),)).copy())
        code.append(np.broadcast_to(np.asarray(c, np.int64), (len(s),)).copy())
        vreg.append(np.broadcast_to(np.asarray(r, np.int8), (len(s),)).copy())
        life.append(np.full(len(s), in_life, dtype=bool))

    for t in range(5):
        add(idx, t, idx, sd.region)
    second_dev = idx[rng.random(n) < 0.3]
    add(second_dev, 0, SECOND_OFFSET + second_dev, sd.region[second_dev], True)
    second_ip = idx[rng.random(n) < 0.4]
    add(second_ip, 1, SECOND_OFFSET + second_ip, sd.region[second_ip], True)
    rows = _Rows()
    _dense_rings(sd, rng, rows.add)
    _shaped_rings(sd, seed, rows.add)
    keep = _keep_ring_values(sd, rows, seed)
    ring_seller, ring_type, ring_value, ring_region = rows.arrays()
    add(ring_seller[keep], ring_type[keep], ring_value[keep], ring_region[keep])
    # hubs
    for _, t, hcode, mem in sd.hubs:
        add(mem, t, HUB_OFFSET + hcode, sd.region[mem[0]], True)
    for r in np.flatnonzero(sd.ring_hub >= 0):
        _, t, hcode, mem = sd.hubs[sd.ring_hub[r]]
        add(np.flatnonzero(sd.ring == r), t, HUB_OFFSET + hcode, sd.region[mem[0]], True)
    for g, grp in enumerate(sd.family_groups):
        add(grp, 0, HUB_OFFSET + FAMILY_CODE + g, sd.region[grp])
    for _, t, hcode, mem, at_signup in sd.innocent:
        add(mem, t, HUB_OFFSET + hcode, sd.region[mem[0]], not at_signup)
    a = {
        "seller": np.concatenate(seller),
        "type": np.concatenate(stype),
        "code": np.concatenate(code),
        "region": np.concatenate(vreg),
        "life": np.concatenate(life),
    }
    order = np.lexsort((a["code"], a["type"], a["seller"]))
    return {k: v[order] for k, v in a.items()}


class _Rows:
    """Ring value assignments collected before the missing-value noise is applied."""

    def __init__(self):
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(self, s, t, c, r) -> None:
        n = len(s)
        cols = (s, t, c, r)
        self.parts.append(tuple(np.broadcast_to(np.asarray(x, np.int64), (n,)) for x in cols))

    def arrays(self) -> tuple[np.ndarray, ...]:
        if not self.parts:
            return tuple(np.zeros(0, np.int64) for _ in range(4))
        return tuple(np.concatenate([p[i] for p in self.parts]) for i in range(4))


def _keep_ring_values(sd: SellerData, rows: _Rows, seed: int) -> np.ndarray:
    """Which ring value assignments the members keep: each is left out with its ring's planted
    probability, as long as the ring's members stay connected through the values they keep (a
    ring cut in two by missing values would be two rings in the data). Sets
    ``sd.ring_missing_share``, the share of each ring's assignments left out."""
    rng = rng_for(seed, "ring_noise")
    seller, stype, code, _ = rows.arrays()
    keep = np.ones(len(seller), dtype=bool)
    ring = sd.ring[seller]
    order = np.argsort(ring, kind="stable")
    bounds = np.flatnonzero(np.r_[True, ring[order][1:] != ring[order][:-1], True])
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        idx = order[lo:hi]
        tries = np.flatnonzero(rng.random(len(idx)) < sd.ring_missing_p[ring[idx[0]]])
        if not len(tries):
            continue
        _, member = np.unique(seller[idx], return_inverse=True)
        _, value = np.unique(stype[idx] * (1 << 40) + code[idx], return_inverse=True)
        kept = np.ones(len(idx), dtype=bool)
        for row in rng.permutation(tries):
            kept[row] = False
            if not _connected(member, value, kept):
                kept[row] = True
        keep[idx] = kept
    n_rows = np.bincount(ring, minlength=len(sd.ring_size))
    dropped = np.bincount(ring[~keep], minlength=len(sd.ring_size))
    sd.ring_missing_share = dropped / np.maximum(n_rows, 1)
    return keep


def _connected(member: np.ndarray, value: np.ndarray, kept: np.ndarray) -> bool:
    """Whether every member is reachable from every other through the kept assignments."""
    n_members = int(member.max()) + 1
    graph = sparse.coo_matrix(
        (np.ones(int(kept.sum())), (member[kept], n_members + value[kept])),
        shape=(n_members + int(value.max()) + 1,) * 2,
    )
    _, label = csgraph.connected_components(graph, directed=False)
    return bool((label[:n_members] == label[0]).all())


def ring_code(ring: np.ndarray | int, slot: np.ndarray | int) -> np.ndarray:
    return RING_OFFSET + np.asarray(ring, np.int64) * RING_VALUE_SLOTS + np.asarray(slot, np.int64)


def _dense_rings(sd: SellerData, rng, add) -> None:
    """Dense rings: each member uses one of the ring's values for each of its shared types."""
    dense = sd.ring_shape == RING_SHAPES.index("dense")
    members = np.flatnonzero((sd.ring >= 0) & dense[np.maximum(sd.ring, 0)])
    ring_of = sd.ring[members]
    for t in range(5):
        has = np.array([t in tt for tt in sd.ring_types], dtype=bool)
        nvals = np.array(
            [
                vv[tt.index(t)] if t in tt else 0
                for tt, vv in zip(sd.ring_types, sd.ring_values, strict=True)
            ]
        )
        m = members[has[ring_of]]
        if not len(m):
            continue
        j = (rng.random(len(m)) * nvals[sd.ring[m]]).astype(np.int64)
        add(m, t, ring_code(sd.ring[m], j * 5 + t), sd.ring_region[sd.ring[m]])


def _shaped_rings(sd: SellerData, seed: int, add) -> None:
    """Star, partial-overlap, rotation-chain and weak-tie rings (members in registration
    order: seller indices follow registration)."""
    rng = rng_for(seed, "ring_signals")
    for r in np.flatnonzero(sd.ring_shape != RING_SHAPES.index("dense")):
        shape = RING_SHAPES[sd.ring_shape[r]]
        m = np.flatnonzero(sd.ring == r)
        region = sd.ring_region[r]
        if shape == "star":
            for i in range(1, len(m)):
                t = int(rng.choice([DEVICE, PHONE, BANK]))
                add(m[[0, i]], t, ring_code(r, i), region)
        elif shape == "partial_overlap":
            subsets = ((DEVICE, BANK), (DEVICE, ADDRESS), (BANK, ADDRESS))
            offset = int(rng.integers(0, 3))
            for j, s in enumerate(m):
                for t in subsets[(j + offset) % 3]:
                    add([s], t, ring_code(r, 0), region)
        elif shape == "rotation_chain":
            for j, s in enumerate(m):
                add([s], DEVICE, ring_code(r, j), region)
                if j:
                    add([s], DEVICE, ring_code(r, j - 1), region)
                    if rng.random() < 0.5:
                        add(m[[j - 1, j]], PHONE, ring_code(r, j), region)
        else:  # weak_ties
            add(m, PHONE, ring_code(r, 0), region)
            add(m, ADDRESS, ring_code(r, 0), region)


def write_signals(sd: SellerData, asg: dict, clock: Clock, seed: int, writer, chunk: int) -> None:
    days = clock.days
    n_chunks = max(1, -(-sd.n // chunk))
    bounds = np.searchsorted(asg["seller"], np.arange(n_chunks + 1) * chunk)
    for ci in range(n_chunks):
        rng = rng_for(seed, "signals", 1, ci)
        lo, hi = bounds[ci], bounds[ci + 1]
        s, t, c, r = (asg[k][lo:hi] for k in ("seller", "type", "code", "region"))
        hub = c >= HUB_OFFSET
        lam = np.where(hub, 1.5, OBS_LAMBDA[t])
        n_obs = 1 + rng.poisson(lam)
        a = sd.t_reg[s]  # the log keeps history from registration, also before the period
        never = np.isnan(sd.t_onb[s])
        b = np.minimum(np.minimum(days, sd.removed_at[s]), np.where(never, sd.t_reg[s] + 3.0, days))
        ok = b > a
        n_obs = np.where(ok, n_obs, 0)
        # First use: at registration, or at some point of the seller's activity; the other
        # observations fall between first use and the end of the activity.
        adopt = np.where(asg["life"][lo:hi], a + rng.random(len(s)) * np.maximum(b - a, 0), a)
        rows = np.repeat(np.arange(len(s)), n_obs)
        first = np.r_[True, rows[1:] != rows[:-1]] if len(rows) else np.zeros(0, bool)
        tt = adopt[rows] + rng.random(len(rows)) * (b[rows] - adopt[rows]) * ~first
        tt = np.minimum(tt, days - 1e-6)
        order = np.lexsort((rows, tt))
        rows, tt = rows[order], tt[order]
        # string values are computed once per assignment, then repeated per observation
        vals = signal_values(t, c, r, C.REGIONS)
        writer.write(
            "seller_identity_signals",
            {
                "seller_id": ids("S", s[rows] + 1, 7),
                "signal_type": take_str(C.SIGNAL_TYPES, t[rows]),
                "signal_value": vals.take(pa.array(rows)),
                "observed_at": clock.ts_array(tt),
            },
            part=f"part-{ci:03d}",
        )
