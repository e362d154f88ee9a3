"""Shared helpers: random streams, time conversion and vectorised string building."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

US_PER_DAY = 86_400_000_000

# Named random streams: every component draws from its own generator so that changing one
# component never shifts the numbers drawn by another.
_STREAMS = {
    "calendar": 1,
    "strategies": 2,
    "sellers": 3,
    "pii": 4,
    "signals": 5,
    "listings": 6,
    "attack": 7,
    "mix": 8,
    "hits": 9,
    "qa": 10,
    "orders": 11,
    "manual": 12,
    "repeat": 13,
    "actions": 14,
    "appeals": 15,
    "late": 16,
    "seller_plan": 17,
    "ring_shapes": 18,
    "innocent_sharing": 19,
    "ring_signals": 20,
    "families": 21,
    "ring_timing": 22,
    "ring_noise": 23,
}


def rng_for(seed: int, stream: str, *extra: int) -> np.random.Generator:
    """Independent, reproducible generator for one named stream (and optional sub-index)."""
    return np.random.default_rng([int(seed), _STREAMS[stream], *[int(x) for x in extra]])


class Clock:
    """Converts simulation time (float days since the period start) to timestamps."""

    def __init__(self, start: np.datetime64, days: int):
        self.start = np.datetime64(start, "D")
        self.days = int(days)
        self.start_us = int(self.start.astype("datetime64[us]").astype(np.int64))
        self.start_weekday = int((self.start.astype(np.int64) + 3) % 7)  # Monday = 0

    def to_us(self, t: np.ndarray) -> np.ndarray:
        """Whole-second timestamps in microseconds since the epoch."""
        secs = np.floor(np.asarray(t, dtype=np.float64) * 86_400.0).astype(np.int64)
        return self.start_us + secs * 1_000_000

    def ts_array(self, t: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
        us = self.to_us(np.nan_to_num(t, nan=0.0, posinf=0.0, neginf=0.0))
        if mask is None:
            mask = ~np.isfinite(t)
        arr = pa.array(us, type=pa.int64(), mask=mask if mask.any() else None)
        return arr.cast(pa.timestamp("us"))

    def dow(self, day: np.ndarray) -> np.ndarray:
        return (self.start_weekday + np.asarray(day, dtype=np.int64)) % 7

    def date_str(self, day: int | float) -> str:
        return str(self.start + np.timedelta64(int(np.floor(day)), "D"))


def ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Vectorised zero-padded string ids, e.g. ids('S', [1, 2], 7) -> S0000001, S0000002."""
    s = pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string())
    s = pc.utf8_lpad(s, width=width, padding="0")
    return pc.binary_join_element_wise(pa.scalar(prefix), s, "")


def take_str(vocab, idx: np.ndarray) -> pa.Array:
    """Pick strings from a vocabulary by integer index (vectorised)."""
    return pa.array(list(vocab), pa.string()).take(pa.array(np.asarray(idx, dtype=np.int64)))


def join(*parts, sep: str = "") -> pa.Array:
    """Element-wise concatenation of string arrays / python strings."""
    conv = [pa.scalar(p) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*conv, sep)


def int_str(x: np.ndarray, width: int = 0) -> pa.Array:
    s = pc.cast(pa.array(np.asarray(x, dtype=np.int64)), pa.string())
    if width:
        s = pc.utf8_lpad(s, width=width, padding="0")
    return s


def permute(idx: np.ndarray, modulus: int, mult: int, salt: int) -> np.ndarray:
    """Bijection of [0, modulus) (mult must be coprime with modulus): unique pseudo-random codes."""
    x = np.asarray(idx, dtype=np.int64) % modulus
    # split multiplication to stay inside int64: (x * mult) mod m with x, mult < 2**31
    return (x * (mult % modulus) + salt) % modulus


def splitmix64(x: np.ndarray) -> np.ndarray:
    z = np.asarray(x, dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return z


_HEX = np.array(list("0123456789abcdef"))


def hex_str(x: np.ndarray, n_chars: int = 16) -> np.ndarray:
    """Vectorised fixed-width lowercase hex of uint64 values (numpy unicode array)."""
    x = np.asarray(x, dtype=np.uint64)
    shifts = np.arange(n_chars - 1, -1, -1, dtype=np.uint64) * np.uint64(4)
    nib = ((x[:, None] >> shifts[None, :]) & np.uint64(0xF)).astype(np.int64)
    chars = np.ascontiguousarray(_HEX[nib])
    return chars.view(f"<U{n_chars}").ravel()


def sample_from_weights(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    cw = np.cumsum(weights, dtype=np.float64)
    return np.searchsorted(cw, rng.random(n) * cw[-1], side="right").clip(0, len(weights) - 1)


def sample_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of a (n, k) probability matrix."""
    cw = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cw[:, -1]
    return (cw < u[:, None]).sum(axis=1).clip(0, probs.shape[1] - 1)


def first_per_group(keys: np.ndarray) -> np.ndarray:
    """Boolean mask of the first row of each run of equal keys (keys sorted)."""
    m = np.ones(len(keys), dtype=bool)
    if len(keys) > 1:
        m[1:] = keys[1:] != keys[:-1]
    return m


def rank_in_group(keys: np.ndarray) -> np.ndarray:
    """0-based position of each row within its run of equal keys (keys sorted)."""
    n = len(keys)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(first_per_group(keys))
    run_start = np.repeat(starts, np.diff(np.append(starts, n)))
    return np.arange(n) - run_start
