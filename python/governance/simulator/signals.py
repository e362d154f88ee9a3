"""Seller identity-signal event log: personal, ring-shared and innocent hub signals."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from . import config as C
from .pii import signal_values
from .sellers import SellerData
from .util import Clock, ids, rng_for, take_str

# value-code spaces (per signal type): personal < 2**22, second personal < 2**23,
# ring values from 2**23, hub values from 2**23 + 2**22.
SECOND_OFFSET = 1 << 22
RING_OFFSET = 1 << 23
HUB_OFFSET = (1 << 23) + (1 << 22)
OBS_LAMBDA = np.array([2.5, 2.5, 0.8, 0.6, 0.6])  # extra observations per assignment and type


def assignments(sd: SellerData, seed: int):
    """(seller, signal_type, value_code, region_of_value) for every seller-value pair."""
    rng = rng_for(seed, "signals")
    n = sd.n
    idx = np.arange(n, dtype=np.int64)
    seller, stype, code, vreg = [], [], [], []

    def add(s, t, c, r):
        seller.append(np.asarray(s, np.int64))
        stype.append(np.broadcast_to(np.asarray(t, np.int8), (len(s),)).copy())
        code.append(np.asarray(c, np.int64))
        vreg.append(np.asarray(r, np.int8))

    for t in range(5):
        add(idx, t, idx, sd.region)
    second_dev = idx[rng.random(n) < 0.3]
    add(second_dev, 0, SECOND_OFFSET + second_dev, sd.region[second_dev])
    second_ip = idx[rng.random(n) < 0.4]
    add(second_ip, 1, SECOND_OFFSET + second_ip, sd.region[second_ip])
    # rings: each member uses one of the ring's shared values for each shared type
    members = idx[sd.ring >= 0]
    ring_of = sd.ring[members]
    for r_types_pos in range(5):
        has = np.array([r_types_pos in tt for tt in sd.ring_types], dtype=bool)
        nvals = np.array(
            [
                vv[tt.index(r_types_pos)] if r_types_pos in tt else 0
                for tt, vv in zip(sd.ring_types, sd.ring_values, strict=True)
            ]
        )
        m = members[has[ring_of]]
        if not len(m):
            continue
        j = (rng.random(len(m)) * nvals[sd.ring[m]]).astype(np.int64)
        add(
            m,
            r_types_pos,
            RING_OFFSET + sd.ring[m].astype(np.int64) * 4 + j,
            sd.ring_region[sd.ring[m]],
        )
    # hubs
    for _, t, hcode, mem in sd.hubs:
        add(mem, t, np.full(len(mem), HUB_OFFSET + hcode), np.full(len(mem), sd.region[mem[0]]))
    for g, grp in enumerate(sd.family_groups):
        add(grp, 0, np.full(len(grp), HUB_OFFSET + 100_000 + g), sd.region[grp])
    a = {
        "seller": np.concatenate(seller),
        "type": np.concatenate(stype),
        "code": np.concatenate(code),
        "region": np.concatenate(vreg),
    }
    order = np.lexsort((a["code"], a["type"], a["seller"]))
    return {k: v[order] for k, v in a.items()}


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
        rows = np.repeat(np.arange(len(s)), n_obs)
        tt = a[rows] + rng.random(len(rows)) * (b[rows] - a[rows])
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
