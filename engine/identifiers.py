"""Names are identifiers, not text: one pattern per kind of name, checked by the loader.

A name ends up in vendor configuration lines, in file names (``--running DIR/<device>.cfg``, the
state directory) and in network namespace paths, so each is checked in full (``fullmatch``: unlike
JSON Schema's ``$``, no final newline slips through) before anything uses it. The patterns are
documented in README "Names". A platform whose names are narrower says so in the ``identifiers:``
of its ``templates/<platform>/platform.yaml``; the engine names no platform.

    site        [a-z0-9][a-z0-9-]{0,62}
    device      [A-Za-z0-9][A-Za-z0-9_.-]{0,62}, no ".."   (inventory host keys; become file names)
    netns       [A-Za-z0-9][A-Za-z0-9_.-]{0,63}, no ".."   (becomes /run/netns/<name>)
    interface   [A-Za-z0-9][A-Za-z0-9_./-]{0,63}            (a platform may narrow it: Linux, at most 15, no "/")
    intent      [A-Za-z0-9][A-Za-z0-9_.-]{0,47}
    vlan name   [A-Za-z0-9][A-Za-z0-9_-]{0,31}
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from pathlib import Path
from typing import Any

from engine.errors import IntentError
from engine.frozen import frozen
from engine.platforms import known_platforms, platform_data


@frozen
class NameRule:
    """What a name of one kind may be: a pattern, the same in words for the message, and a length."""

    what: str
    pattern: re.Pattern[str]
    allowed: str  # the pattern in words, for the message
    max_length: int
    file_name: bool = False  # becomes (part of) a path: "." and ".." and separators are refused outright


SITE = NameRule("site name", re.compile(r"[a-z0-9][a-z0-9-]*"), "lowercase letters, digits and '-'", 63)
DEVICE = NameRule("device name", re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*"),
                  "letters, digits, '_', '.' and '-'", 63, file_name=True)
NETNS = NameRule("netns", re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*"), "letters, digits, '_', '.' and '-'", 64,
                 file_name=True)
INTERFACE = NameRule("interface name", re.compile(r"[A-Za-z0-9][A-Za-z0-9_./-]*"),
                     "letters, digits, '_', '.', '/' and '-'", 64)
INTENT = NameRule("intent name", re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*"), "letters, digits, '_', '.' and '-'", 48)
VLAN_NAME = NameRule("VLAN name", re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*"), "letters, digits, '_' and '-'", 32)


def control_problem(text: str) -> str | None:
    """Why ``text`` cannot be part of a configuration line: a newline or another control character."""
    if text.isascii() and text.isprintable():  # the common case, without a look-up per character
        return None
    for char in text:
        if char in "\n\r\v\f\x85\u2028\u2029":
            return "contains a line break"
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            return f"contains the control character U+{ord(char):04X}"
    return None


def shown(text: str) -> str:
    """``text`` quoted for a message, control characters escaped, cut at 40 characters."""
    cut = text if len(text) <= 40 else text[:40] + "..."
    return repr(cut)


def name_problem(rule: NameRule, value: Any) -> str | None:
    """What is wrong with ``value`` as a ``rule`` name, or None."""
    if type(value) is str and value.isascii() and value.isprintable() and " " not in value and \
            0 < len(value) <= rule.max_length and rule.pattern.fullmatch(value) and \
            not (rule.file_name and ("/" in value or "\\" in value or ".." in value)):
        return None  # the common case, decided in a few C calls: what every check below would say
    if not isinstance(value, str):
        return f"{rule.what} must be a string"
    problem = control_problem(value)
    if problem:
        return f"{rule.what} {shown(value)} {problem}"
    if value == "":
        return f"{rule.what} is empty"
    if rule.file_name and ("/" in value or "\\" in value):
        return f"{rule.what} {shown(value)} contains a path separator"
    if rule.file_name and ".." in value:
        return f"{rule.what} {shown(value)} contains '..'"
    if any(char.isspace() for char in value):
        return f"{rule.what} {shown(value)} contains a space"
    if len(value) > rule.max_length:
        return f"{rule.what} {shown(value)} is longer than {rule.max_length} characters"
    if not rule.pattern.fullmatch(value):
        return f"{rule.what} {shown(value)}: use only {rule.allowed}, starting with a letter or digit"
    return None


@cache
def interface_rule(platform: str | None) -> NameRule:
    """The interface rule of ``platform``: ``identifiers: interface:`` of its platform.yaml (what,
    pattern, allowed, max_length, each defaulting to the generic rule's), else the generic rule."""
    own = (platform_data(platform).get("identifiers") or {}).get("interface") \
        if platform is not None and platform in known_platforms() else None
    if not own:
        return INTERFACE
    return NameRule(str(own.get("what", INTERFACE.what)), re.compile(str(own.get("pattern", INTERFACE.pattern.pattern))),
                    str(own.get("allowed", INTERFACE.allowed)), int(own.get("max_length", INTERFACE.max_length)))


def interface_problem(platform: str | None, value: Any) -> str | None:
    """An interface name checked by the generic rule, then by what its device's platform accepts."""
    problem = name_problem(interface_rule(platform), value)
    if problem is None and platform is not None and "interface" in platform_tokens(platform):
        return token_problem(platform, "interface", value)
    return problem


def text_problems(data: Any, path: tuple[str | int, ...] = ()) -> list[tuple[tuple[str | int, ...], bool, str]]:
    """Every key and string value in ``data`` that holds a control character or line break:
    (JSON path, is_key, problem). Site and topology files carry no free text, so none may."""
    found: list[tuple[tuple[str | int, ...], bool, str]] = []
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(data, path)]
    while stack:
        value, where = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                problem = control_problem(str(key))
                if problem:
                    found.append(((*where, str(key)), True, f"key {shown(str(key))} {problem}"))
                stack.append((item, (*where, str(key))))
        elif isinstance(value, list):
            stack.extend((item, (*where, index)) for index, item in enumerate(value))
        elif isinstance(value, str):
            problem = control_problem(value)
            if problem:
                found.append((where, False, f"{shown(value)} {problem}"))
    return sorted(found, key=lambda item: [str(part) for part in item[0]])


def check_file_name(directory: Path, file_name: str) -> None:
    """Refuse a ``file_name`` that is not one name inside ``directory`` (a separator, ``..``, a control
    character): what ``inside`` checks before resolving anything."""
    if "/" in file_name or "\\" in file_name or file_name in ("", ".", "..") or control_problem(file_name):
        raise IntentError(f"{shown(file_name)} is not a file name inside {directory}")


def inside(directory: Path, file_name: str) -> Path:
    """``directory / file_name``, refused unless it stays inside ``directory`` once resolved (symlinks
    followed): a device name never becomes a path elsewhere on the machine."""
    check_file_name(directory, file_name)
    path = directory / file_name
    root = directory.resolve()
    if not path.resolve().is_relative_to(root):
        raise IntentError(f"{path} leads outside {directory} (a symbolic link?): refused")
    return path


DEFAULT_TOKENS = {"word": r"[A-Za-z0-9_./:-]{1,80}"}


@cache
def platform_tokens(platform: str) -> dict[str, re.Pattern[str]]:
    """What ``platform`` accepts at each position of a configuration line (``tokens:`` in its
    ``templates/<platform>/platform.yaml``): ``word`` for any value, plus ``interface``, ``vlan_name``..."""
    raw = platform_data(platform) if platform in known_platforms() else {}
    tokens = {**DEFAULT_TOKENS, **(raw.get("tokens") or {})}
    return {role: re.compile(pattern) for role, pattern in tokens.items()}


def token_problem(platform: str, role: str, value: str) -> str | None:
    """Why ``value`` cannot stand at a ``role`` position of a ``platform`` configuration line, or None."""
    problem = control_problem(value)
    if problem:
        return f"{shown(value)} {problem}"
    tokens = platform_tokens(platform)
    pattern = tokens.get(role, tokens["word"])
    if not pattern.fullmatch(value):
        return f"{shown(value)} is not a {platform} {role.replace('_', ' ')} (allowed: {pattern.pattern})"
    return None
