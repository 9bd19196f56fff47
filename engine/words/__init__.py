"""Intents in words: an English or French sentence read exactly into one intent, or refused.

A grammar, not a model. Each language has one small grammar of the words all kinds share
(``en.lark``, ``fr.lark``, plus ``common.lark``), and each intent kind contributes its phrases
(``<kind>.en.lark``, ``<kind>.fr.lark``) and a ``build`` that turns what the sentence said into the
kind's body. The grammars are LALR(1) and built in lark's strict mode, so a grammar that could read
one sentence two ways does not even load: a sentence has one reading or none. A word the grammar
has no place for is refused with a ``SentenceError`` that quotes it and says what was expected.

Accents are optional: the sentence is folded to plain letters, one character for one, before it is
read (``réserver`` reads as ``reserver``); errors quote the sentence as written. Commas are ignored.

Kinds register their phrases in ``BUILTIN`` below, or through the ``intent_engine.phrases``
entry-point group (an object with ``key``, ``grammar(language)`` and ``build(said)``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache
from importlib import resources
from importlib.metadata import entry_points
from typing import Any, Protocol

from engine.errors import Location, ValidationError
from engine.frozen import frozen
from engine.units import bytes_hint, format_bps, parse_bandwidth, parse_percent
from intents.match import DSCP_NAMES, PROTOCOLS

LANGUAGES = {"en": "English", "fr": "French"}
SENTENCE = "<sentence>"
MAX_LENGTH = 1000  # characters: one intent is one sentence, not a document


class SentenceError(ValidationError):
    """A sentence that cannot be read exactly: the word (as written), where, and what was expected."""

    def __init__(self, sentence: str, start: int, end: int, reason: str) -> None:
        self.sentence = sentence
        self.start = start
        self.word = sentence[start:end]
        self.reason = reason
        quoted = f"{self.word!r}: " if self.word else ""
        super().__init__([(Location(SENTENCE, 1, start + 1), quoted + reason)])


@frozen
class Part:
    """One value of a phrase and where it was written (character offsets in the sentence)."""

    value: Any
    start: int
    end: int


@frozen
class Said:
    """One thing the sentence says, e.g. ``Said("ceil", ..., parts=(Part("500Mbps", 40, 47),))``."""

    field: str
    start: int
    end: int
    parts: tuple[Part, ...] = ()

    @property
    def value(self) -> Any:
        return self.parts[0].value if self.parts else True


class Clauses:
    """What one sentence said, field by field, for a kind's ``build``."""

    def __init__(self, sentence: str, said: list[Said]) -> None:
        self.sentence = sentence
        self.said = said

    def error(self, where: Said | Part, reason: str) -> SentenceError:
        return SentenceError(self.sentence, where.start, where.end, reason)

    def get(self, field_name: str) -> Said | None:
        """The one place the sentence says ``field_name``; saying it twice is an error at the second."""
        found = [s for s in self.said if s.field == field_name]
        if len(found) > 1:
            raise self.error(found[1], f"the sentence already says this at column {found[0].start + 1}: say it once")
        return found[0] if found else None

    def need(self, field_name: str, what: str) -> Said:
        found = self.get(field_name)
        if found is None:
            end = len(self.sentence.rstrip())
            raise SentenceError(self.sentence, end, end, f"the sentence does not say {what}")
        return found


class Phrases(Protocol):
    """What a kind contributes to the grammars: its phrases and how they become its body."""

    @property
    def key(self) -> str:
        """The kind's key (``qos_guarantee``): its phrases define the grammar rule of that name."""
        ...

    def grammar(self, language: str) -> str:
        """Lark rules defining the rule named ``key`` (and private helpers prefixed with ``_``)."""
        ...

    def build(self, said: Clauses) -> tuple[dict[str, Any], str]:
        """The kind's body exactly as in a site file, and the intent name it suggests (``video-10-20``)."""
        ...


@frozen
class KindPhrases:
    """A kind's phrases shipped as ``<key>.<language>.lark`` in ``package``, plus its ``build``."""

    key: str
    build_body: Callable[[Clauses], tuple[dict[str, Any], str]]
    package: str = "engine.words"
    extra_rules: str = ""

    def grammar(self, language: str) -> str:
        text = resources.files(self.package).joinpath(f"{self.key}.{language}.lark").read_text(encoding="utf-8")
        return text + "\n" + self.extra_rules

    def build(self, said: Clauses) -> tuple[dict[str, Any], str]:
        return self.build_body(said)


def builtin() -> dict[str, Phrases]:
    """The phrases shipped here, for the kinds the engine has (a kind's phrases wait for its module)."""
    from importlib import import_module

    from intents.registry import BUILTIN

    modules = [import_module(f"engine.words.{key}") for key in _SHIPPED if key in BUILTIN]
    return {module.PHRASES.key: module.PHRASES for module in modules}


_SHIPPED = ("vlan", "qos_guarantee", "qos_limit", "isolate", "qos_share")


def phrases(plugins: bool = True) -> dict[str, Phrases]:
    """Every kind's phrases: the built-in ones, then any installed through the entry-point group."""
    found = builtin()
    if plugins:
        for entry in entry_points(group="intent_engine.phrases"):
            if entry.name not in found:
                found[entry.name] = entry.load()
    return found


@frozen
class Reading:
    """The one intent a sentence means: its kind, its body, a suggested name, the language read."""

    kind: str
    body: dict[str, Any]
    name: str
    language: str

    def intent(self, name: str | None = None) -> dict[str, Any]:
        """As it stands in a site file: ``{"name": ..., "<kind>": {...}}``."""
        return {"name": name or self.name, self.kind: self.body}

    def unique_name(self, taken: Iterable[str]) -> str:
        """The suggested name, or ``name-2``, ``name-3``... when a site already has it."""
        used = set(taken)
        if self.name not in used:
            return self.name
        number = 2
        while f"{self.name}-{number}" in used:
            number += 1
        return f"{self.name}-{number}"


def fold(text: str) -> str:
    """Accents off, one character for one: ``réserver à`` -> ``reserver a`` (offsets stay valid)."""
    out = []
    for char in text:
        if char in "\u00a0\u202f\u2009":
            out.append(" ")
        elif char in "\u2019\u02bc`":
            out.append("'")
        else:
            base = unicodedata.normalize("NFD", char)
            out.append(base[0] if len(base) > 1 and all(unicodedata.combining(c) for c in base[1:]) else char)
    return "".join(out)


def read(sentence: str, languages: Iterable[str] = tuple(LANGUAGES), table: dict[str, Phrases] | None = None) -> Reading:
    """Read ``sentence`` in the first of ``languages`` whose grammar reads it; else raise SentenceError.

    When no grammar reads it, the error is the one of the grammar that read furthest. ``table``: the
    kinds' phrases (default: every registered kind).
    """
    import lark

    text = unicodedata.normalize("NFC", sentence)
    if len(text) > MAX_LENGTH:
        raise SentenceError(text, 0, 0, f"the sentence is too long: {len(text)} characters, at most {MAX_LENGTH}")
    folded = fold(text)
    table = table if table is not None else phrases()
    failures: list[tuple[str, SentenceError, set[str]]] = []
    for language in languages:
        parser = _parser(language, tuple(sorted(table.items(), key=lambda item: item[0])))
        try:
            tree = parser.parse(folded)
        except lark.exceptions.UnexpectedInput as exc:
            error, expected = _refusal(text, folded, parser, exc)
            failures.append((language, error, expected))
            continue
        kind = tree.children[0]
        assert isinstance(kind, lark.Tree)
        key = str(kind.data)
        body, name = table[key].build(Clauses(text, _said(text, kind)))
        return Reading(key, body, name, language)
    if not failures:
        raise ValueError(f"no grammar for languages {list(languages)!r}: use {', '.join(LANGUAGES)}")
    furthest = max(error.start for _, error, _ in failures)
    at_end = [f for f in failures if f[1].start == furthest]
    if len(at_end) == 1:
        raise at_end[0][1]
    first = at_end[0][1]
    options = "; or in ".join(f"{LANGUAGES[language]}: {_listing(expected)}" for language, _, expected in at_end)
    reason = first.reason.split("; expected", 1)[0]
    raise SentenceError(text, first.start, first.start + len(first.word), f"{reason}; expected in {options}")


@lru_cache(maxsize=16)
def _parser(language: str, items: tuple[tuple[str, Phrases], ...]) -> Any:
    """Built once per process for each language and set of kinds."""
    return build_parser(language, dict(items))


def build_parser(language: str, table: dict[str, Phrases]) -> Any:
    """A lark LALR(1) parser in strict mode: a grammar that could read a sentence two ways is refused
    here (lark.exceptions.GrammarError), so every sentence has one reading or none."""
    import lark

    return lark.Lark(source(language, table, table), parser="lalr", lexer="contextual", strict=True,
                     propagate_positions=True, start="start")


def source(language: str, keys: Iterable[str] | None = None, table: dict[str, Phrases] | None = None) -> str:
    """The whole grammar text of ``language`` (for reading it, and for the parser)."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}: use {', '.join(LANGUAGES)}")
    table = table or phrases()
    chosen = sorted(keys if keys is not None else table)
    files = resources.files("engine.words")
    parts = [files.joinpath("common.lark").read_text(encoding="utf-8"),
             files.joinpath(f"{language}.lark").read_text(encoding="utf-8"), _generated()]
    parts += [table[key].grammar(language) for key in chosen]
    parts.append("start: (" + " | ".join(chosen) + ") _STOP?\n")
    return "\n".join(parts)


def _literals(rule: str, names: Iterable[str]) -> str:
    return f"!{rule}: " + " | ".join(f'"{name}"i' for name in sorted(names, key=lambda n: (-len(n), n))) + "\n"


def _generated() -> str:
    """Rules made from the engine's own tables, so the grammar knows the names the engine knows."""
    return "// generated from intents/match.py\n" + _literals("dscp_name", DSCP_NAMES) + _literals("protocol_name", PROTOCOLS)


# What each terminal stands for, in an error message.
_TERMINALS = {
    "VLAN_ID": "a VLAN number", "NUMBER": "a number with a unit (100Mbps, 10%)", "UNIT": "a unit (bps, Kbps, Mbps, "
    "Gbps, Mb/s, Mbit/s)", "WORD": "one word naming the traffic or the VLAN", "NAME": "a name (letters, digits, - and _)",
    "DEVICE": "a device of the inventory", "PORT": "a port as device:interface (acc1:eth3)",
    "CIDR": "a subnet such as 10.50.0.0/24", "DSCP_NUMBER": "a DSCP value 0-63",
    "PROTOCOL_NUMBER": "an IP protocol number", "PORT_NUMBER": "a port number", "$END": "the end of the sentence",
}
_GROUPS = {
    "dscp": ("a DSCP name (ef, af41, cs3...)", {n.lower() for n in DSCP_NAMES}),
    "protocol": ("a protocol (" + ", ".join(sorted(PROTOCOLS)) + ")", set(PROTOCOLS)),
}


def _describe(parser: Any, names: Iterable[str]) -> set[str]:
    described: set[str] = set()
    for name in names:
        if name in _TERMINALS:
            described.add(_TERMINALS[name])
            continue
        try:
            pattern = parser.get_terminal(name).pattern
        except KeyError:
            continue
        if pattern.type != "str":
            if name not in ("AND_PORT", "_STOP"):
                described.add(name.lower())
            continue
        value = str(pattern.value).lower()
        group = next((label for label, members in _GROUPS.values() if value in members), None)
        described.add(group or f"'{value}'")
    return described


def _listing(expected: set[str]) -> str:
    items = sorted(expected, key=lambda e: (not e.startswith("'"), e))
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _refusal(text: str, folded: str, parser: Any, exc: Any) -> tuple[SentenceError, set[str]]:
    import lark

    interactive = getattr(exc, "interactive_parser", None)
    names = interactive.accepts() if interactive is not None else getattr(exc, "expected", None) or exc.allowed
    expected = _describe(parser, names)
    if not folded.strip():
        return SentenceError(text, 0, 0, "the sentence is empty; expected " + _listing(expected)), expected
    if isinstance(exc, lark.exceptions.UnexpectedToken) and exc.token.type == "$END":
        start = len(folded.rstrip())
        return SentenceError(text, start, start, "the sentence ends too early; expected " + _listing(expected)), expected
    start = exc.token.start_pos if isinstance(exc, lark.exceptions.UnexpectedToken) else exc.pos_in_stream
    end = start
    while end < len(folded) and not folded[end].isspace() and folded[end] != ",":
        end += 1
    return SentenceError(text, start, max(end, start + 1), "not understood here; expected " + _listing(expected)), expected


_FACTORS = {"": "bps", "k": "Kbps", "m": "Mbps", "g": "Gbps", "t": "Tbps"}
_UNIT = re.compile(r"^([kmgt]?)(?:bps|bits?/s|b/s)$", re.IGNORECASE)


def _value(text: str, node: Any) -> Part:
    """One value of a phrase: tokens become ints or strings, rates their canonical site-file form."""
    import lark

    if isinstance(node, lark.Token):
        assert node.start_pos is not None and node.end_pos is not None
        raw: Any = str(node)
        if node.type in ("VLAN_ID", "DSCP_NUMBER", "PROTOCOL_NUMBER", "PORT_NUMBER"):
            raw = int(node)
        elif node.type == "WORD":
            raw = str(node).lower()
        return Part(raw, node.start_pos, node.end_pos)
    start, end = node.meta.start_pos, node.meta.end_pos
    tokens = [t for t in node.scan_values(lambda v: isinstance(v, lark.Token))]
    if node.data in ("dscp_value",):
        return _value(text, node.children[0])
    if node.data in ("dscp_name", "protocol_name", "queue_name"):
        return Part(str(tokens[0]).lower().replace("-", "_"), start, end)
    if node.data in ("rate", "bandwidth"):
        number = str(tokens[0]).replace(",", ".")
        try:
            if len(tokens) == 1:  # a share: the unit was % or its words
                return Part(f"{parse_percent(number + '%'):g}%", start, end)
            hint = bytes_hint(number + str(tokens[1]))  # 100MBps is megabytes: never read as megabits
            if hint:
                raise ValueError(hint)
            unit = _UNIT.match(str(tokens[1]))
            assert unit is not None
            return Part(format_bps(parse_bandwidth(number + _FACTORS[unit.group(1).lower()])), start, end)
        except ValueError as exc:  # 0%, 120%, 0.5bps: the engine's reason, quoting the sentence
            raise SentenceError(text, start, end, str(exc).split(": ", 1)[-1]) from None
    return Part(tuple(_value(text, child) for child in node.children), start, end)  # a group: its values


_FIELDS = {"for_description": "description", "guaranteed": "rate"}


def _said(text: str, kind: Any) -> list[Said]:
    """Every field phrase of a kind's parse tree, in sentence order."""
    import lark

    said: list[Said] = []
    for child in kind.children:
        if isinstance(child, lark.Token):
            part = _value(text, child)
            said.append(Said("vlan" if child.type == "VLAN_ID" else child.type.lower(), part.start, part.end, (part,)))
            continue
        parts = tuple(_value(text, grandchild) for grandchild in child.children)
        said.append(Said(_FIELDS.get(str(child.data), str(child.data)), child.meta.start_pos, child.meta.end_pos, parts))
    return said


def vlan_id(said: Clauses, where: Said | Part) -> int:
    """A VLAN number the sentence gave, checked: 1-4094."""
    value = where.value
    assert isinstance(value, int)
    if not 1 <= value <= 4094:
        raise said.error(where, "a VLAN number is 1-4094")
    return value
