"""Parameter coercion for settings that arrive as strings (dbt vars render to text)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

_TRUE = {"true", "1", "yes", "y", "on"}
_FALSE = {"false", "0", "no", "n", "off"}


def _number(raw: Any) -> float:
    return float(raw.strip()) if isinstance(raw, str) else float(raw)


def as_sequence(raw: Any) -> list[Any]:
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith(("[", "(")):
            return list(json.loads(text.replace("(", "[").replace(")", "]")))
        return [v for v in text.split(",") if v.strip()]
    return list(raw)


def coerce(raw: Any, default: Any) -> Any:
    """Convert ``raw`` to the type of ``default`` (bool, int, float, str, tuple, mapping).

    ``None`` defaults (optional numbers) accept numbers; tuples of numbers, mappings and
    booleans also accept their usual text spellings (``'[1, 2]'``, ``'{"a": 1}'``, ``'false'``).
    """
    if isinstance(default, bool):
        if isinstance(raw, str):
            text = raw.strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError(f"not a boolean: {raw!r}")
        return bool(raw)
    if isinstance(default, int):
        value = _number(raw)
        if value != int(value):
            raise ValueError(f"not an integer: {raw!r}")
        return int(value)
    if isinstance(default, float):
        return _number(raw)
    if isinstance(default, str):
        return str(raw)
    if isinstance(default, tuple):
        items = as_sequence(raw)
        if all(isinstance(d, str) for d in default) and default:
            return tuple(str(v).strip() for v in items)
        return tuple(_number(v) for v in items)
    if isinstance(default, Mapping):
        mapping = json.loads(raw) if isinstance(raw, str) else dict(raw)
        sample = next(iter(default.values()), 0.0)
        return {str(k): coerce(v, sample) for k, v in mapping.items()}
    if default is None:
        if isinstance(raw, str) and raw.strip().lower() in {"", "none", "null"}:
            return None
        value = _number(raw)
        return int(value) if value == int(value) else value
    return raw


def params_from_mapping(cls: type, values: Mapping[str, Any] | None, **special: Any) -> Any:
    """Instantiate dataclass ``cls`` from ``values``; unknown keys and ``None`` are ignored.

    ``special`` maps a field name to a converter used instead of :func:`coerce`.
    """
    if not values:
        return cls()
    defaults = cls()
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in values or values[f.name] is None:
            continue
        raw = values[f.name]
        if f.name in special:
            kwargs[f.name] = special[f.name](raw)
        else:
            kwargs[f.name] = coerce(raw, getattr(defaults, f.name))
    return cls(**kwargs)
