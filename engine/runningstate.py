"""Saved Linux running state checked before the plan reads it: the shape the Linux driver writes.

``intent plan --running DIR`` reads ``DIR/<device>.json`` as the document ``drivers/linux/state.py``
reads from a device. A file edited by hand, cut short or from another tool may lack a field or hold
another type (a filter without ``dev``, a ``match`` that is a string); the plan would then fail
somewhere inside the diff. ``check_linux`` refuses such a document first, at the line of the JSON
text where the offending value is, with what is wrong (schema ``linux-running``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from json.decoder import scanstring  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

from engine import linux
from engine.cliconfig import ConfigLineError


@cache
def _validators() -> tuple[Any, Any]:
    """jsonschema-rs's yes/no (None where it is not installed: most documents have no problem, and it
    tells that 50 times faster) and jsonschema's validator, which words the problem, of the schema."""
    import jsonschema

    schema = json.loads(Path(__file__).with_name("schemas").joinpath("linux-running.schema.json").read_text("utf-8"))
    try:
        import jsonschema_rs

        fast: Any = jsonschema_rs.Draft202012Validator(schema)
    except Exception:  # noqa: BLE001 - not installed, or a schema it does not take: jsonschema alone
        fast = None
    return fast, jsonschema.Draft202012Validator(schema)


def check_linux(text: str, document: dict[str, Any]) -> None:
    """Raise ConfigLineError at the first problem of a Linux running state document (``text`` parsed)."""
    fast, wording = _validators()
    if fast is None or not fast.is_valid(document):
        problems = sorted(wording.iter_errors(document), key=lambda error: _line_of(text, list(error.absolute_path)))
        if problems:
            error = problems[0]
            path = list(error.absolute_path)
            raise ConfigLineError(_line_of(text, path), f"Linux running state: {_shown(path)}: {_said(error)}")
    for section, field in (("addresses", "address"), ("routes", "dst"), ("rules", "src"), ("rules", "dst")):
        for index, obj in enumerate(document.get(section) or []):
            value = obj.get(field)
            if isinstance(value, str):
                try:
                    linux._network_key(value)
                except ValueError:
                    path = [section, index, field]
                    raise ConfigLineError(_line_of(text, path), f"Linux running state: {_shown(path)}: {value!r} is "
                                                                "not an IP address or network") from None


def _said(error: Any) -> str:
    """jsonschema's message, shortened where it quotes a whole object or a long value."""
    message = str(error.message)
    return message if len(message) <= 160 else message[:157] + "..."


def _shown(path: Sequence[str | int]) -> str:
    """``["filters", 3, "match"]`` as ``filters[3].match`` (the document itself: ``the document``)."""
    shown = ""
    for step in path:
        shown += f"[{step}]" if isinstance(step, int) else (f".{step}" if shown else str(step))
    return shown or "the document"


def _line_of(text: str, path: Sequence[str | int]) -> int:
    """The line of ``text`` (JSON) where the value at ``path`` starts (as far as the path can be
    followed: a key written twice is the last one, as ``json.loads`` reads it)."""
    decoder = json.JSONDecoder()
    position = _skip(text, 0)
    try:
        for step in path:
            if isinstance(step, str) and text.startswith("{", position):
                position = _skip(text, position + 1)
                found = None
                while text.startswith('"', position):
                    key, position = scanstring(text, position + 1)
                    position = _skip(text, _skip(text, position) + 1)  # past the colon
                    if key == step:
                        found = position
                    position = _skip(text, decoder.raw_decode(text, position)[1])
                    if text.startswith(",", position):
                        position = _skip(text, position + 1)
                if found is None:
                    break
                position = found
            elif isinstance(step, int) and text.startswith("[", position):
                position = _skip(text, position + 1)
                for _ in range(step):
                    position = _skip(text, decoder.raw_decode(text, position)[1])
                    position = _skip(text, position + 1)  # past the comma
            else:
                break
    except (ValueError, IndexError):
        pass  # the text is JSON (it was parsed): a path that cannot be followed ends where it stopped
    return text.count("\n", 0, position) + 1


def _skip(text: str, position: int) -> int:
    """Past the whitespace at ``position``."""
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position
