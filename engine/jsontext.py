"""Indented JSON, fast: the bytes of ``json.dumps(value, indent=2)``, from orjson when it gives them.

The standard library's encoder is pure Python once ``indent`` is set, which makes a 1,000-device
plan's JSON cost seconds. orjson writes the same layout in C; its output is used only where it is
the same text: pure ASCII (``json.dumps`` escapes the rest), no DEL character, no float anywhere
(the two format some floats differently), only string keys. Otherwise ``json.dumps`` it is.
"""

from __future__ import annotations

import json
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a declared dependency
    orjson = None  # type: ignore[assignment]


def dumps(value: Any, *, sort_keys: bool = False) -> str:
    """``json.dumps(value, indent=2, sort_keys=sort_keys)``, byte for byte."""
    if orjson is not None and not _has_float(value):
        option = orjson.OPT_INDENT_2 | (orjson.OPT_SORT_KEYS if sort_keys else 0)
        try:
            raw = orjson.dumps(value, option=option)
        except TypeError:  # a key that is not a string, an integer past 64 bits, a type orjson lacks
            raw = b""
        if raw and raw.isascii() and b"\x7f" not in raw:
            return raw.decode("ascii")
    return json.dumps(value, indent=2, sort_keys=sort_keys)


def _has_float(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, float):
            return True
    return False
