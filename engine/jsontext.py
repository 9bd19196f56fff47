"""JSON text, fast: the bytes of ``json.dumps``, from orjson when it gives them.

The standard library's encoder is pure Python once ``indent`` is set, which makes a 1,000-device
plan's JSON cost seconds. orjson writes the same layout in C; its output is used only where it is
the same text: pure ASCII (``json.dumps`` escapes the rest), no DEL character, no float anywhere
(the two format some floats differently), only string keys. Otherwise ``json.dumps`` it is.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from json.encoder import encode_basestring_ascii
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a declared dependency
    orjson = None  # type: ignore[assignment]

# Exact types that hold no float. A set: a type is found in one probe, where a tuple compares it with each
# type before it (a Linux document's None and booleans: 14% of the instructions walking a fabric's documents).
_LEAVES = frozenset((str, int, bool, type(None)))


def dumps(value: Any, *, sort_keys: bool = False, floats: bool | None = None) -> str:
    """``json.dumps(value, indent=2, sort_keys=sort_keys)``, byte for byte. ``floats``: whether
    ``value`` holds a float, when the caller knows (``has_float`` of the same data), else looked for."""
    raw = _orjson(value, orjson.OPT_INDENT_2 if orjson is not None else 0, sort_keys, floats)
    return raw.decode("ascii") if raw is not None else json.dumps(value, indent=2, sort_keys=sort_keys)


def dumps_bytes(value: Any, *, sort_keys: bool = False, floats: bool | None = None, newline: bool = False) -> bytes:
    """``dumps(...).encode()``, without decoding orjson's bytes to encode them again (a plan file is
    tens of megabytes at 10,000 devices); ``newline``: with a final ``\n``, written by orjson (no copy)."""
    option = orjson.OPT_INDENT_2 | (orjson.OPT_APPEND_NEWLINE if newline else 0) if orjson is not None else 0
    raw = _orjson(value, option, sort_keys, floats)
    if raw is not None:
        return raw
    return json.dumps(value, indent=2, sort_keys=sort_keys).encode() + (b"\n" if newline else b"")


def compact(value: Any, *, floats: bool | None = None) -> bytes:
    """``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()``, byte for byte
    (the canonical form plan hashes cover). ``floats`` as for ``dumps``."""
    raw = _orjson(value, 0, True, floats)
    if raw is not None:
        return raw
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def compact_parts(value: Any, *, floats: bool | None = None,
                  split: Collection[str] = ()) -> Iterator[bytes | memoryview]:
    """``compact(value)``'s bytes in pieces, in order: a dict of string keys written key by key, and the values
    under the keys in ``split`` (dicts of string keys too) a few entries at a time, each piece by ``compact``.
    What a hash is fed without holding the whole text (11.5 MB at 1,000 devices, whose fresh pages cost more
    to fault in than writing it): the pieces are small and their memory is used again. The same bytes, as
    ``json.dumps`` writes a dict: its keys sorted, each key's text (``encode_basestring_ascii``), ``:``, the
    value's text, the entries between ``,`` and braces, and a value's text is the same wherever it stands (so
    a run of entries is the inside of their own dict's text). ``floats`` as for ``dumps``; where the whole
    holds a float, each piece is looked at (a piece without one is orjson's)."""
    if type(value) is not dict or not all(type(key) is str for key in value):
        yield compact(value, floats=floats)
        return
    inner = False if floats is False else None
    yield b"{"
    separator = b""
    for key in sorted(value):
        item = value[key]
        yield separator + encode_basestring_ascii(key).encode() + b":"
        separator = b","
        if key not in split or type(item) is not dict or not all(type(name) is str for name in item):
            yield compact(item, floats=inner)
            continue
        names = sorted(item)
        yield b"{"
        for start in range(0, len(names), _RUN):  # a run's text: tens of KB, under malloc's mmap threshold
            text = compact({name: item[name] for name in names[start:start + _RUN]}, floats=inner)
            if start:
                yield b","
            yield memoryview(text)[1:-1]  # without the run's own braces
        yield b"}"
    yield b"}"


_RUN = 8  # entries of a split value written at a time


def _orjson(value: Any, option: int, sort_keys: bool, floats: bool | None) -> bytes | None:
    """orjson's bytes for ``value``, or None where they could differ from ``json.dumps``'s."""
    if orjson is None or (has_float(value) if floats is None else floats):
        return None
    try:
        raw = orjson.dumps(value, option=option | (orjson.OPT_SORT_KEYS if sort_keys else 0))
    except TypeError:  # a key that is not a string, an integer past 64 bits, a type orjson lacks
        return None
    return raw if raw.isascii() and b"\x7f" not in raw else None  # OPT_APPEND_NEWLINE's "\n" is ASCII too


def has_float(value: Any) -> bool:
    """Whether a float (or a float subclass) is anywhere in ``value``. Leaves of the common exact types
    are skipped without a call: a plan is mostly lists of strings."""
    leaves = _LEAVES
    stack = [value]
    push = stack.append
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            items = item.values()
        elif kind is list or kind is tuple:
            items = item
        elif kind in leaves:
            continue
        elif isinstance(item, float):
            return True
        elif isinstance(item, dict):
            items = item.values()
        elif isinstance(item, (list, tuple)):
            items = item
        else:
            continue
        for child in items:
            if type(child) not in leaves:
                push(child)
    return False


def printable_ascii(value: Any) -> bool | None:
    """True when every key and string in ``value`` is printable ASCII, told from orjson's compact text
    in one C pass: it escapes every control character and ``"`` and ``\\`` (so a backslash in the text
    means one may be there) and writes the rest as it is (so non-ASCII shows as such; DEL is looked for).
    None when that text cannot tell (a backslash, DEL or non-ASCII in it, no orjson, a value it refuses)."""
    if orjson is None:
        return None
    try:
        raw = orjson.dumps(value)
    except TypeError:  # a key that is not a string, an integer past 64 bits, a type orjson lacks
        return None
    return True if raw.isascii() and b"\\" not in raw and b"\x7f" not in raw else None
