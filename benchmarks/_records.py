"""Reading the rows of a benchmark's JSON whatever its shape, and finding columns by name."""

from __future__ import annotations

import re
from typing import Any


def _flatten(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


def records(data: Any) -> list[dict[str, Any]]:
    """Rows of a benchmark's JSON: a list of dicts, ``{"rows": [...]}`` (any key holding a list
    of dicts) or ``{name: {...}}``; nested dicts are flattened to ``"key.subkey"`` columns."""
    if isinstance(data, list):
        return [_flatten(r) for r in data if isinstance(r, dict)]
    if not isinstance(data, dict):
        return []
    for value in data.values():
        if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
            return records(value)
    if data and all(isinstance(v, dict) for v in data.values()):
        return [_flatten({"name": k, **v}) for k, v in data.items()]
    return []


def _norm(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def find(row: dict[str, Any], *names: str) -> Any:
    """The value of the first of ``names`` that is a key of ``row`` (case, ``_ -/.`` ignored)."""
    keys = {_norm(k): k for k in row}
    for name in names:
        if _norm(name) in keys:
            return row[keys[_norm(name)]]
    return None
