"""The one remediation path of CLI platforms: hier_config turns running -> merged into commands.

``engine.cliconfig`` decides *what* changes (the merged config touches only what the engine owns);
hier_config decides *how*: the commands that get there and the commands that undo them, with each
platform's own negation, idempotency and ordering rules. The plan computes both once; every driver
sends exactly the plan's commands.

The ownership rules of ``templates/<platform>/platform.yaml`` reach hier_config as options and tags:
- each owned setting of a shared section (``switchport access vlan``, ``service-policy output``)
  is an idempotent command, so a new value replaces the old without a ``no`` first;
- ``order`` entries are ordering weights: definitions before references, removals after them;
- every remediation line is tagged ``desired`` (an addition the intents want), ``owned`` (removal of
  a line the ownership rules give the engine) or ``takeover`` (removal an intent's ``takeover: true``
  allows). A line with none of these tags is never sent: the plan is refused instead, naming it.

Trunk allowed-VLAN lists change with the platform's ``add``/``remove`` continuation, never by
re-sending (and so possibly dropping) the whole list.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import operator
import re
from collections.abc import Callable, Iterable, Iterator
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from engine import cliconfig
from engine.errors import RenderError
from engine.frozen import frozen
from engine.render import platform_spec

TAGS = ("desired", "owned", "takeover")


class NotOwnedError(ValueError):
    """The change would remove or negate configuration the engine does not own."""


@frozen
class Remediation:
    """The commands that take a device from its running configuration to the merged one, and back."""

    commands: tuple[str, ...]  # running -> merged, what the drivers send
    rollback: tuple[str, ...]  # merged -> running, what undoes it


@cache
def hier_driver(platform: str) -> Any:
    """hier_config's driver for ``platform``, with the engine's ownership rules as options."""
    from hier_config import Platform, get_hconfig_driver
    from hier_config.models import IdempotentCommandsRule, MatchRule, OrderingRule

    spec = platform_spec(platform)
    os_name = (spec.raw.get("remediation") or {}).get("hier_config")  # platform.yaml: data, not a map here
    if not isinstance(os_name, str) or not hasattr(Platform, os_name):
        raise RenderError(f"templates/{platform}/platform.yaml: remediation: hier_config: {os_name!r} is no hier_config platform")
    driver = get_hconfig_driver(getattr(Platform, os_name))
    syntax = spec.syntax
    assert syntax is not None
    if syntax.style != "set":
        if syntax.trunk is not None:  # hier_config's own rule (NX-OS) would let `add` lines replace the list
            prefix = syntax.trunk.prefix.strip()
            driver.rules.idempotent_commands[:] = [
                rule for rule in driver.rules.idempotent_commands
                if not str(rule.match_rules[-1].startswith or "").startswith(prefix)]
        for section, children in syntax.shared:
            for child in children:
                if child.pattern.endswith("$"):
                    continue  # a whole line (``no switchport``), not a setting with a value
                pattern = child.pattern
                if syntax.trunk is not None and syntax.trunk.matches(pattern.lstrip("^")):
                    pattern += "(?!add |remove )"  # continuation lines add to the list, they do not replace it
                driver.rules.idempotent_commands.append(IdempotentCommandsRule(
                    match_rules=(MatchRule(re_search=section.pattern), MatchRule(re_search=pattern))))
        for rule in spec.raw.get("order") or []:
            driver.rules.ordering.append(OrderingRule(
                match_rules=tuple(MatchRule(re_search=pattern) for pattern in _as_list(rule["match"])),
                weight=int(rule["weight"])))
    return driver


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


@frozen
class Match:
    """One hier_config ``MatchRule`` as ``_predicate`` reads it: every test that is set must hold."""

    equals: str | frozenset[str] | None = None
    startswith: str | tuple[str, ...] | None = None
    endswith: str | tuple[str, ...] | None = None
    contains: str | tuple[str, ...] | None = None
    re_search: str | None = None


Lineage = tuple[Match, ...]  # one Match per level, the top line's first


@frozen
class DriverRules:
    """What the remediation's own paths (``_fresh_direct``, ``set_weights``) read of a platform's
    hier_config driver, the engine's ordering rules included: its rules, and which of its methods are
    its own rather than the base driver's (by module and qualified name). Read from the installed
    driver, or from ``hier_config_rules.json`` when that was made from the installed hier_config
    (``_driver_rules``): a plan of devices that all take the direct path then never imports it."""

    ordering: tuple[tuple[Lineage, int], ...]
    sectional_exiting: tuple[tuple[Lineage, str], ...]
    negate_with: tuple[tuple[Lineage, str], ...]
    negation_default_when: tuple[Lineage, ...]
    negation_sub: tuple[tuple[Lineage, str, str], ...]
    per_line_sub: tuple[str, ...]  # the search patterns
    full_text_sub: bool  # the driver has some
    indent_adjust: bool
    post_load_callbacks: tuple[str, ...]
    preprocessor: str | None  # None: the base driver's (the text as it is)
    swap_negation: str | None  # None: the base driver's (the negation prefix added or taken off)
    negation_prefix: str
    declaration_prefix: str


RULES_FILE = Path(__file__).with_name("hier_config_rules.json")
_MATCH_FIELDS = ("equals", "startswith", "endswith", "contains", "re_search")


@cache
def _driver_rules(platform: str) -> DriverRules:
    """The platform's ``DriverRules``: from ``RULES_FILE`` when it holds them for the hier_config
    installed, else from hier_config's driver itself (``hier_driver``)."""
    os_name = (platform_spec(platform).raw.get("remediation") or {}).get("hier_config")
    recorded = _recorded_rules().get(os_name) if isinstance(os_name, str) else None
    try:
        base = _rules_from_json(recorded) if isinstance(recorded, dict) else None
    except (KeyError, TypeError, ValueError):
        base = None  # a file edited by hand: what hier_config says
    if base is None:
        return _rules_of(hier_driver(platform))
    return dataclasses.replace(base, ordering=base.ordering + _engine_ordering(platform))


def _engine_ordering(platform: str) -> tuple[tuple[Lineage, int], ...]:
    """The ordering rules ``hier_driver`` adds from ``order:`` of platform.yaml, as ``DriverRules`` holds them."""
    spec = platform_spec(platform)
    if spec.syntax is None or spec.syntax.style == "set":
        return ()
    return tuple((tuple(Match(re_search=pattern) for pattern in _as_list(rule["match"])), int(rule["weight"]))
                 for rule in spec.raw.get("order") or [])


@cache
def _recorded_rules() -> dict[str, Any]:
    """hier_config platform name -> its driver's rules as ``RULES_FILE`` records them, when the file was
    made from the hier_config version installed (else nothing: the rules are read from hier_config)."""
    from engine.entrypoints import version

    try:
        document = json.loads(RULES_FILE.read_text(encoding="utf-8"))
        installed = version("hier_config")
    except (OSError, ValueError):
        return {}
    if installed is None or not isinstance(document, dict) or document.get("hier_config") != installed:
        return {}
    platforms = document.get("platforms")
    return platforms if isinstance(platforms, dict) else {}


def _qualified(function: Any) -> str:
    return f"{function.__module__}.{function.__qualname__}"


def _rules_of(driver: Any) -> DriverRules:
    """``DriverRules`` of a hier_config driver as it is."""
    from hier_config.platforms.driver_base import HConfigDriverBase

    def lineage(rule: Any) -> Lineage:
        return tuple(Match(*(getattr(match, name) for name in _MATCH_FIELDS)) for match in rule.match_rules)

    rules, kind = driver.rules, type(driver)
    own = {name: None if getattr(kind, name) is getattr(HConfigDriverBase, name) else _qualified(getattr(kind, name))
           for name in ("config_preprocessor", "swap_negation")}
    return DriverRules(
        ordering=tuple((lineage(rule), rule.weight) for rule in rules.ordering),
        sectional_exiting=tuple((lineage(rule), rule.exit_text) for rule in rules.sectional_exiting),
        negate_with=tuple((lineage(rule), rule.use) for rule in rules.negate_with),
        negation_default_when=tuple(lineage(rule) for rule in rules.negation_default_when),
        negation_sub=tuple((lineage(rule), rule.search, rule.replace) for rule in rules.negation_sub),
        per_line_sub=tuple(rule.search for rule in rules.per_line_sub),
        full_text_sub=bool(rules.full_text_sub), indent_adjust=bool(rules.indent_adjust),
        post_load_callbacks=tuple(_qualified(callback) for callback in rules.post_load_callbacks),
        preprocessor=own["config_preprocessor"], swap_negation=own["swap_negation"],
        negation_prefix=driver.negation_prefix, declaration_prefix=driver.declaration_prefix)


def _rules_as_json(rules: DriverRules) -> dict[str, Any]:
    def match(found: Match) -> dict[str, Any]:
        values = {name: getattr(found, name) for name in _MATCH_FIELDS}
        return {name: sorted(value) if isinstance(value, frozenset) else list(value) if isinstance(value, tuple)
                else value for name, value in values.items() if value is not None}

    def lineage(found: Lineage) -> list[dict[str, Any]]:
        return [match(level) for level in found]

    return {
        "ordering": [[lineage(levels), weight] for levels, weight in rules.ordering],
        "sectional_exiting": [[lineage(levels), text] for levels, text in rules.sectional_exiting],
        "negate_with": [[lineage(levels), use] for levels, use in rules.negate_with],
        "negation_default_when": [lineage(levels) for levels in rules.negation_default_when],
        "negation_sub": [[lineage(levels), search, replace] for levels, search, replace in rules.negation_sub],
        "per_line_sub": list(rules.per_line_sub), "full_text_sub": rules.full_text_sub,
        "indent_adjust": rules.indent_adjust, "post_load_callbacks": list(rules.post_load_callbacks),
        "preprocessor": rules.preprocessor, "swap_negation": rules.swap_negation,
        "negation_prefix": rules.negation_prefix, "declaration_prefix": rules.declaration_prefix,
    }


def _rules_from_json(document: dict[str, Any]) -> DriverRules:
    def match(found: dict[str, Any]) -> Match:
        values: dict[str, Any] = {name: (frozenset(value) if name == "equals" else tuple(value))
                                  if isinstance(value, list) else value for name, value in found.items()}
        return Match(**values)

    def lineage(found: list[dict[str, Any]]) -> Lineage:
        return tuple(match(level) for level in found)

    return DriverRules(
        ordering=tuple((lineage(levels), int(weight)) for levels, weight in document["ordering"]),
        sectional_exiting=tuple((lineage(levels), text) for levels, text in document["sectional_exiting"]),
        negate_with=tuple((lineage(levels), use) for levels, use in document["negate_with"]),
        negation_default_when=tuple(lineage(levels) for levels in document["negation_default_when"]),
        negation_sub=tuple((lineage(levels), search, replace) for levels, search, replace in document["negation_sub"]),
        per_line_sub=tuple(document["per_line_sub"]), full_text_sub=document["full_text_sub"],
        indent_adjust=document["indent_adjust"], post_load_callbacks=tuple(document["post_load_callbacks"]),
        preprocessor=document["preprocessor"], swap_negation=document["swap_negation"],
        negation_prefix=document["negation_prefix"], declaration_prefix=document["declaration_prefix"])


def rules_document() -> dict[str, Any]:
    """What ``RULES_FILE`` holds: the installed hier_config's version and the rules of the driver of every
    platform whose platform.yaml names one (tests/test_fast_paths.py checks the file is this, and
    ``pytest --update-golden`` rewrites it)."""
    from importlib import metadata

    from hier_config import Platform, get_hconfig_driver

    from engine.platforms import known_platforms

    names = sorted({name for platform in known_platforms()
                    if isinstance(name := (platform_spec(platform).raw.get("remediation") or {}).get("hier_config"), str)})
    return {"hier_config": metadata.version("hier_config"),
            "platforms": {name: _rules_as_json(_rules_of(get_hconfig_driver(getattr(Platform, name)))) for name in names}}


class UnreadableConfig(ValueError):
    """hier_config cannot hold a configuration as a tree: two lines of one section it reads as one."""


def hconfig(platform: str, text: str) -> Any:
    """``text`` as hier_config's tree. ``cliconfig.parse`` gives every line once per section; the
    platform's reader may still make two lines one (NX-OS drops what follows a ``!``, IOS rewrites ``
    no ip address``): UnreadableConfig names them, where hier_config would raise its own error."""
    from hier_config import get_hconfig
    from hier_config.exceptions import DuplicateChildError

    bare, search = _without_line_subs(platform)
    try:
        if search is not None and not any(search(" " * (len(line) - len(line.lstrip())) + " ".join(line.split()))
                                          for line in text.splitlines()):
            return get_hconfig(bare, text)  # no per-line rule would change a line: the same tree, fewer regexes
        return get_hconfig(hier_driver(platform), text)
    except DuplicateChildError as exc:
        path = str(exc).partition(": ")[2]  # hier_config words it "Found a duplicate section: ('a', 'b')"
        try:
            path = " > ".join(ast.literal_eval(path))
        except (ValueError, SyntaxError, TypeError):
            pass
        raise UnreadableConfig(f"two lines of one section are one line to the {platform} remediation (hier_config) "
                               f"reader: {path}; cannot compute the change (make them differ, or remove one)") from None


@cache
def _without_line_subs(platform: str) -> tuple[Any, Callable[[str], Any] | None]:
    """The platform's driver without its per-line substitutions (``^Building configuration``, comment
    lines...), and one search that finds a line any of them would change, as hier_config's reader
    sees the line (indent kept, inner whitespace folded). Where the reader could see a line otherwise
    (a preprocessor, whole-text rules) or the rules cannot be joined into one pattern, None."""
    import copy

    from hier_config.platforms.driver_base import HConfigDriverBase

    driver = hier_driver(platform)
    rules = driver.rules
    search = _line_sub_search(tuple(rule.search for rule in rules.per_line_sub))
    if search is None or rules.full_text_sub or \
            type(driver).config_preprocessor is not HConfigDriverBase.config_preprocessor:
        return driver, None
    bare = copy.copy(driver)
    bare.rules = rules.model_copy(update={"per_line_sub": []})
    return bare, search


def content(nodes: list[cliconfig.Node], syntax: cliconfig.PlatformSyntax) -> str:
    """Configuration lines without comments and separators: what hier_config reads (a one-line banner
    on three lines, as its reader needs)."""
    return "\n".join(cliconfig.hier_lines(nodes, syntax)) + "\n"


def remediate(platform: str, running: list[cliconfig.Node], merged: list[cliconfig.Node],
              takeover: Iterable[tuple[str, str]] = ()) -> Remediation:
    """Commands running -> merged and back; refused (NotOwnedError) if any would touch what is not ours.

    ``takeover``: (section, child line) pairs an intent's ``takeover: true`` allows to remove."""
    syntax = platform_spec(platform).syntax
    assert syntax is not None
    if not any(node.text for node in running):
        direct = _fresh_direct(platform, merged, syntax)
        if direct is not None:
            return direct
    before = hconfig(platform, content(running, syntax))
    after = hconfig(platform, content(merged, syntax))
    if not before.children and _distinct_siblings(after):
        return _fresh(platform, before, after, merged, syntax)
    allowed = set(takeover)
    before_part, after_part = _without_common(platform, before, after)
    forward = set_weights(platform, before_part.config_to_get_to(after_part))
    _tag(forward, before, after, running, syntax, allowed, wanted=merged)
    backward = set_weights(platform, after_part.config_to_get_to(before_part))
    _tag(backward, after, before, merged, syntax, allowed, check=False)
    return Remediation(_commands(forward, before, syntax), _commands(backward, after, syntax))


def _without_common(platform: str, before: Any, after: Any) -> tuple[Any, Any]:
    """``before`` and ``after`` without the top sections they have alike, for ``config_to_get_to``
    (tags and trunk lists still look at the whole trees). Such a section adds nothing to either delta,
    and leaving it out changes no other line's: it is dropped only when it is once in each tree, in
    the same order all the way down with no two siblings of one text (hier_config pairs repeated
    siblings by their first), and no top-level rule could pair it with another line (idempotent
    commands, sectional overwrites): most of a device's running config, which no intent touches."""
    if not before.children or not after.children:
        return before, after
    blocked = _top_rules(platform)
    ours = _counts(before)
    theirs = _counts(after)
    common = set()
    for child in before.children:
        text = child.text
        if ours[text] == 1 and theirs.get(text) == 1 and not any(match(text) for match in blocked) and \
                _alike(child, after.children.get(text)):
            common.add(text)
    if not common:
        return before, after
    return _part(before, common), _part(after, common)


def _counts(tree: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for child in tree.children:
        counts[child.text] = counts.get(child.text, 0) + 1
    return counts


def _alike(one: Any, other: Any) -> bool:
    if other is None or one.text != other.text or len(one.children) != len(other.children):
        return False
    if one.children and len({child.text for child in one.children}) != len(one.children):
        return False
    return all(_alike(a, b) for a, b in zip(one.children, other.children, strict=True))


def _part(tree: Any, left_out: set[str]) -> Any:
    """A root holding ``tree``'s top sections but ``left_out``: the sections themselves, not copies (they
    keep their parent, so their lineage and driver are what they were)."""
    from hier_config import HConfig

    part = HConfig(tree.driver)
    part.children.extend([child for child in tree.children if child.text not in left_out])
    return part


@cache
def _top_rules(platform: str) -> tuple[Predicate, ...]:
    """Predicates of the one-level rules that relate a top line to others (idempotent commands,
    sectional overwrites): a section one of them matches is never left out."""
    rules = hier_driver(platform).rules
    return tuple(_predicate(rule.match_rules[0])
                 for group in (rules.idempotent_commands, rules.sectional_overwrite, rules.sectional_overwrite_no_negate)
                 for rule in group if len(rule.match_rules) == 1)


def _fresh(platform: str, before: Any, after: Any, merged: list[cliconfig.Node],
           syntax: cliconfig.PlatformSyntax) -> Remediation:
    """``remediate`` when nothing is configured yet (``before`` is empty), with the same result and a
    fraction of the work. hier_config's delta from an empty tree is a deep copy of ``after`` (every
    line new, so every line tagged ``desired``): ``after`` itself stands in for it, which it can when
    no two siblings share a text (``_distinct_siblings``: a copy would fold those). The undo negates
    each top line of ``after`` as ``config_to_get_to`` does (nothing of an empty target can make a
    line idempotent), then is tagged as usual. tests/test_fast_paths.py checks both paths give
    the same commands over the golden sites and the benchmark's fabric."""
    from hier_config import HConfig

    commands = _commands(set_weights(platform, after), None, syntax)
    backward = HConfig(after.driver)
    texts = [child.text for child in after.children]
    negated = [_negation(platform, text) for text in texts]
    if set(texts) & set(negated):
        # hier_config adds each line, then negates it in place: a later line whose text an earlier
        # negation took would meet it; that case goes the way hier_config's own loop goes.
        for text in texts:
            backward.add_child(text).negate()
    else:
        for text in negated:
            backward.add_child(text, check_if_present=False)  # the first of a text stays the one found by it
    set_weights(platform, backward)
    # _tag(backward, after, before, merged, syntax, set(), check=False) on a flat delta against an empty
    # target: every line is the removal of a line of ``after``, or names what nothing here has.
    refused = [child.text for child in backward.children
               if _find(after, (child.text,)) is None and _negated_match(after, (child.text,), syntax) is None]
    if refused:
        raise NotOwnedError("the change would remove configuration the engine does not own: "
                            + "; ".join(dict.fromkeys(refused)))
    return Remediation(commands, _commands(backward, after, syntax))


Branch = tuple[str, list["Branch"]]  # a line as hier_config would hold it, and its children


@frozen
class _PlainReader:
    """What hier_config's reader of a platform may do to a line-by-line text (``_plain_reader``)."""

    substituted: Callable[[list[str]], bool] | None  # whether a per-line substitution changes one of the lines
    preprocessed: Callable[[list[str]], bool] | None  # whether the driver's own preprocessor changes the lines' text
    callbacks: tuple[Callable[[list[Branch]], list[Branch] | None], ...]  # the post-load callbacks' work (below)


def _fresh_direct(platform: str, merged: list[cliconfig.Node], syntax: cliconfig.PlatformSyntax) -> Remediation | None:
    """``_fresh`` without building hier_config's trees, where hier_config would read ``merged`` as the
    nodes themselves (``_plain_tree``): the commands are the lines in order-weight order with each
    section's exit line, the undo each top line negated, again by weight. None where that cannot be
    told: the caller takes the hier_config path. tests/test_fast_paths.py checks both give the same
    outcome on every fresh device of the golden sites, the brownfield corpus and a fabric, and on
    configs made to fall back."""
    reader = _plain_reader(platform)
    if reader is None:
        return None
    blocks: Blocks = {}
    tree = _plain_tree(platform, merged, syntax, reader, blocks)
    if tree is None:
        return None
    texts = [text for text, _ in tree]
    negated = [_negation(platform, text) for text in texts]
    present = set(texts)
    undos = set(negated)
    # ``no `` and a top line: what _undoes says is the undo of that line (most undo lines), asked of the rest
    if present & undos or not all(_undoes(text, present, syntax) for text in undos - {"no " + text for text in texts}):
        return None  # hier_config's own loop (a negation meeting a later line), or a refusal: worded there
    commands: list[str] = []
    if syntax.style == "set":
        commands = [text for text, _ in _by_weight(platform, (), tree)]
    else:
        _emit_plain(platform, tree, (), commands, blocks)
    rollback = [text for text, _ in _by_weight(platform, (), [(text, []) for text in negated])]
    return Remediation(tuple(commands), tuple(rollback))


@cache
def _plain_reader(platform: str) -> _PlainReader | None:
    """How hier_config reads the platform's configuration, when reading it line by line is all it does.
    None where the reader does more: whole-text substitutions, indentation adjustments, a post-load
    callback not known here."""
    rules = _driver_rules(platform)
    if rules.full_text_sub or rules.indent_adjust:
        return None
    substituted = None
    if rules.per_line_sub:
        substituted = _lines_substituted(rules.per_line_sub) if rules.preprocessor is None else None
        if substituted is None:
            return None
    callbacks = []
    for name in rules.post_load_callbacks:
        known = _CALLBACKS.get(name)
        if known is None:
            return None
        callbacks.append(known)
    preprocessor = rules.preprocessor
    changes = None
    if preprocessor is not None:
        changes = _PREPROCESSORS.get(preprocessor) or _preprocessor_changes(platform)
    return _PlainReader(substituted, changes, tuple(callbacks))


def _line_sub_search(patterns: tuple[str, ...]) -> Callable[[str], Any] | None:
    """One search finding a line any of the per-line substitutions ``patterns`` would change (None where
    they cannot be joined into one pattern: a back reference, a group other than ``(?:``)."""
    if not patterns or any(re.search(r"\\[0-9]|\(\?[^:]", pattern) for pattern in patterns):
        return None
    return re.compile("|".join(f"(?:{pattern})" for pattern in patterns)).search


def _lines_substituted(patterns: tuple[str, ...]) -> Callable[[list[str]], bool] | None:
    """Whether one of the per-line substitutions ``patterns`` changes one of a list of lines (None as for
    ``_line_sub_search``): those anchored at the start of a line searched line by line in one pattern,
    each other one once in the lines joined (multi-line: its ``^`` and ``$`` still match at each line's
    start and end, and the one pattern they would make takes no shortcut, ``!.*`` of NX-OS being
    tried at every character of every line). A match the joining makes across two lines can only send
    a config to hier_config's own path, never keep one from it."""
    if _line_sub_search(patterns) is None:
        return None
    anchored = tuple(pattern for pattern in patterns if pattern.startswith("^") and not _alternatives(pattern))
    loose = [pattern for pattern in patterns if pattern not in anchored]
    if any("\\A" in pattern or "\\Z" in pattern for pattern in loose):
        anchored, loose = patterns, []  # anchored to the whole text: line by line
    by_line = _line_sub_search(anchored) if anchored else None
    joined = [re.compile(pattern, re.MULTILINE).search for pattern in loose]

    def substituted(lines: list[str]) -> bool:
        if by_line is not None and any(map(by_line, lines)):
            return True
        if joined:
            text = "\n".join(lines)
            return any(search(text) for search in joined)
        return False

    return substituted


def _preprocessor_changes(platform: str) -> Callable[[list[str]], bool]:
    """Whether the platform driver's own preprocessor changes a text of these lines, by running it."""
    def changes(lines: list[str]) -> bool:
        joined = "\n".join(lines)
        return bool(hier_driver(platform).config_preprocessor(joined) != joined)

    return changes


def _set_commands_change(lines: list[str]) -> bool:
    """Whether hier_config's ``convert_to_set_commands`` (the Junos driver's preprocessor) changes the text
    of ``lines``: it leaves a line as it is only when the line is stripped and not empty, starts with
    ``set`` or ``delete`` and ends in none of ``;``, ``{`` and ``}`` (a brace line opens or closes a
    block, any other line becomes a ``set`` line)."""
    for line in lines:
        if not line or line.strip() != line or line.endswith((";", "{", "}")) or not line.startswith(("set", "delete")):
            return True
    return False


# hier_config's own preprocessors, each as whether it changes a text of the given lines.
_PREPROCESSORS: dict[str, Callable[[list[str]], bool]] = {
    "hier_config.platforms.juniper_junos.driver.HConfigDriverJuniperJUNOS.config_preprocessor": _set_commands_change,
}


def _top_children(tree: list[Branch], prefix: str, child_prefix: str | tuple[str, ...]) -> bool:
    return any(text.startswith(prefix) and any(child.startswith(child_prefix) for child, _ in children)
               for text, children in tree)


_VLAN_LIST = re.compile(r"^vlan \d[\d,\-]*$")


def _numbered_acls(tree: list[Branch]) -> list[Branch] | None:
    """hier_config's ``_add_acl_sequence_numbers`` (IOS): the permit and deny lines of each ``ip access-list``
    numbered 10, 20, ... in order. None where two lines of one list would then have one text."""
    result: list[Branch] = []
    for text, children in tree:
        if text.startswith("ip access-list"):
            numbered, sequence = [], 10
            for child, grandchildren in children:
                if child.startswith(("permit", "deny")):
                    child = f"{sequence} {child}"
                    sequence += 10
                numbered.append((child, grandchildren))
            if len({child for child, _ in numbered}) != len(numbered):
                return None
            children = numbered
        result.append((text, children))
    return result


def _unless(changes: Callable[[list[Branch]], bool]) -> Callable[[list[Branch]], list[Branch] | None]:
    """A callback's work where it is only told when the callback has any: the tree as it is, else None."""
    return lambda tree: None if changes(tree) else tree


# hier_config's post-load callbacks (IOS's), each as what it makes of a plain tree (None: not worked out here).
_CALLBACKS: dict[str, Callable[[list[Branch]], list[Branch] | None]] = {
    "hier_config.platforms.cisco_ios.driver._rm_ipv6_acl_sequence_numbers":
        _unless(lambda tree: _top_children(tree, "ipv6 access-list ", "sequence")),
    "hier_config.platforms.cisco_ios.driver._remove_ipv4_acl_remarks":
        _unless(lambda tree: _top_children(tree, "ip access-list ", "remark")),
    "hier_config.platforms.cisco_ios.driver._add_acl_sequence_numbers": _numbered_acls,
    "hier_config.platforms.utils.split_vlan_id_lists":
        _unless(lambda tree: any(not children and _VLAN_LIST.search(text) and ("," in text[5:] or "-" in text[5:])
                                 for text, children in tree)),
}


def _plain_tree(platform: str, nodes: list[cliconfig.Node], syntax: cliconfig.PlatformSyntax, reader: _PlainReader,
                blocks: Blocks | None = None) -> list[Branch] | None:
    """The tree hier_config reads from ``content(nodes)``, when it is the nodes' own: every line already
    in the form the reader folds it to (one space between words), none that a per-line substitution or
    the preprocessor would change, no banner, no two siblings of one text, no section ending in its own
    exit line; then what the post-load callbacks make of it, where that is known. None otherwise.
    ``blocks``: gets the lines ``_plain_branch`` writes of each section without subsections."""
    if syntax.style == "set":
        lines = [line for node in nodes for line in node.lines(0, "set", trivia=False)]
        if not all(_folded(line) for line in lines):
            return None
        tree: list[Branch] = [(line, []) for line in lines]
    else:
        tree = []
        lines = []
        for node in nodes:
            if not node.text and not node.children:
                continue  # comments and separators only: nothing hier_config reads
            branch = _plain_branch(platform, node, (), lines, blocks)
            if branch is None or branch[0].startswith("banner "):
                return None
            tree.append(branch)
    if reader.substituted is not None and reader.substituted(lines):
        return None
    if reader.preprocessed is not None and reader.preprocessed(lines):
        return None
    if len({text for text, _ in tree}) != len(tree):
        return None
    for callback in reader.callbacks:
        changed = callback(tree)
        if changed is None:
            return None
        tree = changed
    return tree


def _folded(text: str) -> bool:
    """True when ``text`` is non-empty and already what hier_config's reader folds a line to
    (``" ".join(text.split())``): printable (so no whitespace but the ASCII space), no space at either
    end or beside another, decided without splitting; anything else is split and compared."""
    if text and text.isprintable() and "  " not in text and text[0] != " " and text[-1] != " ":
        return True
    return bool(text) and text == " ".join(text.split())


# id() of the children of a section without subsections -> those children and their lines as the reader
# sees them (indented one space a level) and the section's exit line, which are the lines ``_emit_plain``
# writes of them where no ordering rule can sort them. The children are kept beside their lines: an id is
# only theirs while they live.
Blocks = dict[int, tuple[list[Branch], list[str]]]


_first = operator.itemgetter(0)  # a branch's text


def _plain_branch(platform: str, node: cliconfig.Node, above: tuple[str, ...], lines: list[str],
                  blocks: Blocks | None = None) -> Branch | None:
    """``node`` as hier_config would read it back from its lines (each written to ``lines`` as the reader
    sees it), or None (see ``_plain_tree``): a line not in folded form, two siblings of one text, a
    section whose last line is its own exit line (hier_config drops that one on reading). ``blocks``:
    gets the lines of each section without subsections (``Blocks``)."""
    text = node.text
    if not (text and text.isprintable() and "  " not in text and text[0] != " " and text[-1] != " ") and \
            not _folded(text):  # the test of _folded inline: most lines pass it, and there are many
        return None
    depth = len(above)
    lines.append(" " * depth + text if depth else text)
    if not node.children:
        return text, []
    lineage = (*above, text)
    indent = " " * (depth + 1)
    children: list[Branch] = []
    start = len(lines)
    nested = False
    for child in node.children:
        if child.children:
            branch = _plain_branch(platform, child, lineage, lines, blocks)
            if branch is None:
                return None
            children.append(branch)
            nested = True
            continue
        line = child.text  # a line without children, read here as above
        if not (line and line.isprintable() and "  " not in line and line[0] != " " and line[-1] != " ") and \
                not _folded(line):
            return None
        lines.append(indent + line)
        children.append((line, []))
    exit_text = _sectional_exit(platform, lineage)
    if len(set(map(_first, children))) != len(children) or children[-1][0] == exit_text:
        return None
    if blocks is not None and not nested:
        written = lines[start:]
        if exit_text:
            written.append(indent + exit_text)
        blocks[id(children)] = (children, written)
    return text, children


def _by_weight(platform: str, lineage: tuple[str, ...], branches: list[Branch]) -> list[Branch]:
    """``branches`` in the order hier_config sorts them: by ordering weight (``set_weights``), stably."""
    starts, rules = _ordering_under(platform, lineage)
    if not rules:
        return branches  # no rule can match a line here: every weight stays 0
    # a line that can match a rule: its weight kept per lineage by _weight (lines recur from device to device)
    weights = [_weight(platform, (*lineage, text)) or 0 if starts is None or text.startswith(starts) else 0
               for text, _ in branches]
    if not any(weights):
        return branches
    order = sorted(range(len(branches)), key=weights.__getitem__)
    return [branches[index] for index in order]


@lru_cache(maxsize=1 << 14)
def _ordering_under(platform: str, lineage: tuple[str, ...]
                    ) -> tuple[tuple[str, ...] | None, tuple[tuple[str, Predicate, int], ...]]:
    """The ordering rules that can match a line under ``lineage`` (``()``: a top line), last rule first,
    each as what the line itself must start with, its predicate of the line and its weight: those whose
    predicates of the levels above all match ``lineage`` (sections recur from device to device:
    ``interface Ethernet1``). And what a line must start with for any of them to match it (None: one
    of them can match a line whatever it starts with)."""
    starts: list[str] = []
    found = []
    for (start, predicates, weight), levels in zip(_ordering(platform).get(len(lineage) + 1, ()),
                                                   _ordering_starts(platform).get(len(lineage) + 1, ()), strict=True):
        if lineage and not lineage[0].startswith(start):
            continue
        if all(match(text) for match, text in zip(predicates[:-1], lineage, strict=True)):
            found.append((levels[-1], predicates[-1], weight))
            starts.append(levels[-1])
    return (None if "" in starts else tuple(starts)), tuple(found)


def _emit_plain(platform: str, branches: list[Branch], lineage: tuple[str, ...], out: list[str],
                blocks: Blocks | None = None) -> None:
    """``_emit`` of a fresh delta (``before`` None) over a plain tree. ``blocks``: the lines ``_plain_tree``
    wrote of its sections without subsections."""
    depth = len(lineage)
    indent = " " * depth
    ordered = _ordering(platform)  # by the length of the lineages they match
    for text, children in _by_weight(platform, lineage, branches):
        out.append(indent + text)
        if children:
            path = (*lineage, text)
            written = blocks.get(id(children)) if blocks else None
            if written is not None and written[0] is children and (
                    len(path) + 1 not in ordered or not _ordering_under(platform, path)[1]):
                # no rule orders these lines: in their order, as written, with the section's exit line (a
                # callback's new lines are not written)
                out += written[1]
                continue
            if any(grandchildren for _, grandchildren in children):
                _emit_plain(platform, children, path, out, blocks)
            else:  # lines without children: what the call would write
                inner = indent + " "
                out.extend([inner + line for line, _ in _by_weight(platform, path, children)])
            exit_text = _sectional_exit(platform, path)
            if exit_text:
                out.append(indent + " " + exit_text)


@lru_cache(maxsize=1 << 16)
def _sectional_exit(platform: str, lineage: tuple[str, ...]) -> str | None:
    """hier_config's ``sectional_exit`` of a section (one with children) at ``lineage``."""
    for predicates, exit_text in _exiting(platform):
        if len(predicates) == len(lineage) and all(match(text) for match, text in zip(predicates, lineage, strict=True)):
            return exit_text or None
    return "exit"


@cache
def _exiting(platform: str) -> tuple[tuple[tuple[Predicate, ...], str | None], ...]:
    return tuple((tuple(_predicate(match) for match in levels), exit_text)
                 for levels, exit_text in _driver_rules(platform).sectional_exiting)


def _undoes(text: str, present: set[str], syntax: cliconfig.PlatformSyntax) -> bool:
    """True when the undo line ``text`` names a top line of ``present`` the way ``_negated_match`` finds
    it first (an exact candidate): the undo of a fresh config is then never refused."""
    return text in present or text.startswith("no ") and text[3:] in present or \
        text.startswith("delete ") and f"set {text[7:]}" in present or \
        text.startswith("default ") and text[8:] in present or f"{syntax.negate}{text}" in present


@lru_cache(maxsize=1 << 16)
def _negation(platform: str, text: str) -> str:
    """What hier_config's ``negate`` makes of a top line ``text`` (its rules see the line's lineage,
    which for a top line is its text alone). Kept per line: many recur from device to device."""
    plain = _plain_negation(platform, text)
    return plain if plain is not None else _negation_by_hier_config(platform, text)


@lru_cache(maxsize=1 << 14)
def _negation_by_hier_config(platform: str, text: str) -> str:
    from hier_config import HConfig

    scratch = HConfig(hier_driver(platform))
    result: str = scratch.add_child(text).negate().text
    return result


def _plain_negation(platform: str, text: str) -> str | None:
    """``negate`` of a top line worked out from the driver's rules without a tree: the first one-level
    ``negate_with``, ``negation_default_when`` or ``negation_sub`` rule that matches, else the prefix
    swap (None where the driver swaps in a way not known here, or a line has neither prefix)."""
    rules = _negation_rules(platform)
    if rules is None:
        return None
    replacements, defaults, substitutions, prefix, declaration = rules
    for match, use in replacements:
        if match(text):
            if use:
                return use.strip()
            break  # hier_config takes the first matching rule's text, and an empty one as none
    if any(match(text) for match in defaults):
        return f"default {text.removeprefix(prefix)}".strip()
    for match, search, replace in substitutions:
        if match(text):
            return re.sub(search, replace, f"{prefix}{text}").strip()
    if text.startswith(prefix):
        return (declaration + text[len(prefix):]).strip()
    if declaration:
        return f"{prefix}{text.removeprefix(declaration)}".strip() if text.startswith(declaration) else None
    return f"{prefix}{text}".strip()


@cache
def _negation_rules(platform: str) -> tuple[tuple[tuple[Predicate, str], ...], tuple[Predicate, ...],
                                            tuple[tuple[Predicate, str, str], ...], str, str] | None:
    """The one-level negation rules of the platform's driver as predicates, its negation prefix and its
    declaration prefix ("" but for Junos: ``set ``), when its ``swap_negation`` is one known here."""
    rules = _driver_rules(platform)
    if rules.swap_negation is None:
        declaration = ""
    elif rules.swap_negation == "hier_config.platforms.juniper_junos.driver.HConfigDriverJuniperJUNOS.swap_negation":
        declaration = rules.declaration_prefix
    else:
        return None
    return (tuple((_predicate(levels[0]), use) for levels, use in rules.negate_with if len(levels) == 1),
            tuple(_predicate(levels[0]) for levels in rules.negation_default_when if len(levels) == 1),
            tuple((_predicate(levels[0]), search, replace)
                  for levels, search, replace in rules.negation_sub if len(levels) == 1),
            rules.negation_prefix, declaration)


def _distinct_siblings(tree: Any) -> bool:
    stack = [tree]
    while stack:
        node = stack.pop()
        children = node.children
        if children:
            if len({child.text for child in children}) != len(children):
                return False
            stack.extend(child for child in children if child.children)
    return True


Predicate = Callable[[str], bool]


def _predicate(rule: Any) -> Predicate:
    """``HConfigChild.is_match`` of one MatchRule, as a function of the line's text."""
    equals, startswith, endswith, contains = rule.equals, rule.startswith, rule.endswith, rule.contains
    search = re.compile(rule.re_search).search if isinstance(rule.re_search, str) else None
    if equals is None and endswith is None and contains is None:  # the usual rule: one prefix or one pattern
        if search is None and isinstance(startswith, (str, tuple)):
            return lambda text: text.startswith(startswith)
        if startswith is None and search is not None:
            return lambda text: search(text) is not None

    def matches(text: str) -> bool:
        if isinstance(equals, str):
            if text != equals:
                return False
        elif isinstance(equals, frozenset) and text not in equals:
            return False
        if isinstance(startswith, (str, tuple)) and not text.startswith(startswith):
            return False
        if search is not None and not search(text):
            return False
        if isinstance(endswith, (str, tuple)) and not text.endswith(endswith):
            return False
        if isinstance(contains, str):
            if contains not in text:
                return False
        elif isinstance(contains, tuple) and not any(c in text for c in contains):
            return False
        return True

    return matches


Ordering = tuple[tuple[str, tuple[Predicate, ...], int], ...]  # (literal start of the top line, predicates, weight)


@cache
def _ordering(platform: str) -> dict[int, Ordering]:
    """The platform's ordering rules by lineage length, last rule first: (what the top line of a
    lineage the rule matches must start with, one predicate per level, weight)."""
    found: dict[int, list[tuple[str, tuple[Predicate, ...], int]]] = {}
    for levels, weight in _driver_rules(platform).ordering:
        found.setdefault(len(levels), []).append(
            (_literal_start(levels[0]), tuple(_predicate(match) for match in levels), weight))
    return {length: tuple(reversed(rules)) for length, rules in found.items()}


@cache
def _ordering_starts(platform: str) -> dict[int, tuple[tuple[str, ...], ...]]:
    """Beside each rule of ``_ordering``: what a line at each level must start with for it to match."""
    found: dict[int, list[tuple[str, ...]]] = {}
    for levels, _ in _driver_rules(platform).ordering:
        found.setdefault(len(levels), []).append(tuple(_literal_start(match) for match in levels))
    return {length: tuple(reversed(rules)) for length, rules in found.items()}


_REGEX_SPECIAL = frozenset("\\.^$*+?{}[]|()")


def _literal_start(rule: Any) -> str:
    """Text every line a MatchRule matches starts with ("" when it cannot be told): its ``startswith``
    string, or the literal characters a ``^``-anchored pattern opens with."""
    if isinstance(rule.startswith, str):
        return str(rule.startswith)
    pattern = rule.re_search
    if rule.startswith is not None or not isinstance(pattern, str) or not pattern.startswith("^") or \
            _alternatives(pattern):
        return ""
    literal: list[str] = []
    for char in pattern[1:]:
        if char in _REGEX_SPECIAL:
            if char in "*?{" and literal:
                literal.pop()  # the character before a quantifier may be absent
            break
        literal.append(char)
    return "".join(literal)


def _alternatives(pattern: str) -> bool:
    """True when ``pattern`` has a ``|`` outside every group (``^ab|cd``: a line may match without
    starting with ``ab``); one inside a group (``^class-map (match-any|match-all) ``) is not."""
    depth, index, in_class = 0, 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 1  # the escaped character is a literal
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            if pattern[index + 1:index + 2] == "]" or pattern[index + 1:index + 3] == "^]":
                index += 1 if pattern[index + 1] == "]" else 2  # a ``]`` first in a class is one of its characters
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth <= 0:
            return True
        index += 1
    return False


def set_weights(platform: str, tree: Any) -> Any:
    """What hier_config's ``set_order_weight`` does (each line takes the weight of the last ordering
    rule its lineage matches), without building each line's lineage once per rule."""
    if not _ordering(platform):
        return tree
    stack: list[tuple[Any, tuple[str, ...]]] = [(tree, ())]
    while stack:
        node, above = stack.pop()
        for child in node.children:
            lineage = (*above, child.text)
            weight = _weight(platform, lineage)
            if weight is not None:
                child.order_weight = weight
            if child.children:
                stack.append((child, lineage))
    return tree


@lru_cache(maxsize=1 << 16)
def _weight(platform: str, lineage: tuple[str, ...]) -> int | None:
    """The weight of the last ordering rule ``lineage`` matches, None when none does (many lines
    recur from device to device: ``interface Ethernet1``, ``no switchport``)."""
    top = lineage[0]
    for start, predicates, weight in _ordering(platform).get(len(lineage), ()):  # the last rule first
        if top.startswith(start) and all(match(text) for match, text in zip(predicates, lineage, strict=True)):
            return weight
    return None


def restore(platform: str, current: str, snapshot: str) -> tuple[str, ...]:
    """Commands that bring ``current`` back to ``snapshot`` as a whole (a rollback restores everything)."""
    syntax = platform_spec(platform).syntax
    assert syntax is not None
    before = hconfig(platform, content(cliconfig.parse(current, syntax), syntax))
    after = hconfig(platform, content(cliconfig.parse(snapshot, syntax), syntax))
    return _commands(set_weights(platform, before.config_to_get_to(after)), before, syntax)


def apply_commands(platform: str, running: str, commands: Iterable[str]) -> Any:
    """What hier_config predicts ``running`` becomes once ``commands`` are applied (tests, checks)."""
    syntax = platform_spec(platform).syntax
    assert syntax is not None
    from hier_config import get_hconfig

    base = hconfig(platform, content(cliconfig.parse(running, syntax), syntax))
    # The commands are read as typed, without the substitutions meant for a device's printout (IOS'
    # `^ no ip address` one would turn `no ip address 10.20.0.1 255.255.255.0` into `10.20.0.1 ...`).
    typed = get_hconfig(_without_line_subs(platform)[0], "\n".join(commands) + "\n")
    _drop_negated(base, typed, syntax.negate)
    return base.future(typed)


def _drop_negated(base: Any, typed: Any, negate: str) -> None:
    """``no ip routing`` in ``base`` where the commands say ``ip routing``: the device then shows the
    command (hier_config's future dropped both lines, as if each negated the other). Top lines only:
    inside a section the negated form may be a default the device does not print (NX-OS SVIs are
    shut unless they say ``no shutdown``), which hier_config's future models."""
    for command in typed.children:
        if command.text.startswith(negate) or command.children:
            continue
        negated = base.get_child(equals=negate + command.text)
        if negated is not None:
            negated.delete()


def _walk(node: Any) -> Iterator[Any]:
    for child in node.children:
        yield child
        yield from _walk(child)


def _path(child: Any) -> tuple[str, ...]:
    return tuple(c.text for c in child.lineage())


def _find(tree: Any, path: tuple[str, ...]) -> Any:
    node = tree
    for text in path:
        node = node.get_child(equals=text)
        if node is None:
            return None
    return node


def _tag(delta: Any, before: Any, after: Any, before_nodes: list[cliconfig.Node], syntax: cliconfig.PlatformSyntax,
         allowed: set[tuple[str, str]], check: bool = True, wanted: list[cliconfig.Node] | None = None) -> None:
    """Tag every line of ``delta`` with why the engine may send it, or refuse the change. Without
    ``check`` (the rollback), every removal is of a line the change itself added. ``wanted``: the
    merged config, whose sections decide the ``exclusive`` rules (as they did in the merge)."""
    sections = {node.text: node for node in before_nodes if node.text}
    merged = {node.text: node for node in wanted or () if node.text} if syntax.exclusive else {}
    refused: list[str] = []
    for child in list(_walk(delta)):
        path = _path(child)
        if child.children and _find(before, path) is not None and _find(after, path) is not None:
            continue  # a section both sides have: its children carry the tags
        if _find(after, path) is not None:
            child.tags_add("desired")
            continue
        previous = _find(before, path) or _negated_match(before, path, syntax)
        line = " ".join(path) if syntax.style == "set" else "\n".join(path)
        if previous is None:
            refused.append(line)
            continue
        removed = _path(previous)
        if not check or _owned(removed, sections, syntax, merged):
            child.tags_add("owned")
        elif len(removed) == 2 and removed in allowed or syntax.style == "set" and cliconfig.set_split(removed[0], syntax) in allowed:
            child.tags_add("takeover")
        else:
            refused.append(" > ".join(removed))
    if refused:
        raise NotOwnedError("the change would remove configuration the engine does not own: "
                            + "; ".join(dict.fromkeys(refused)))


def _negated_match(before: Any, path: tuple[str, ...], syntax: cliconfig.PlatformSyntax) -> Any:
    """The line of ``before`` that the remediation line at ``path`` negates (``shutdown`` negates ``no shutdown``)."""
    text = path[-1]
    candidates = []
    for prefix in ("no ", "delete ", "default "):
        if text.startswith(prefix):
            candidates.append(("set " if prefix == "delete " else "") + text[len(prefix):])
    candidates.append(f"{syntax.negate}{text}")
    parent = _find(before, path[:-1]) if len(path) > 1 else before
    if parent is None:
        return None
    for candidate in candidates:
        found = parent.get_child(equals=candidate)
        if found is not None:
            return found
    for candidate in candidates:  # shorthand negation: ``no description`` for ``description foo``
        for other in parent.children:
            if other.text.startswith(candidate + " "):
                return other
    return None


def _owned(path: tuple[str, ...], sections: dict[str, cliconfig.Node], syntax: cliconfig.PlatformSyntax,
           merged: dict[str, cliconfig.Node] | None = None) -> bool:
    """True when the line at ``path`` of the configuration before the change is the engine's (an
    ``exclusive`` line also when the merged section has its ``when``: an access port's one VLAN where
    the mode line was taken over)."""
    if syntax.style == "set":
        head, rest = cliconfig.set_split(path[0], syntax)
        section = sections.get(head) or cliconfig.Node(head)
        after = (merged or {}).get(head)
        return syntax.owns(section) or bool(rest) and (
            syntax.owns_child(head, rest, section) or _names_engine_object(rest, sections, syntax)
            or after is not None and syntax.owns_child(head, rest, after))
    top = sections.get(path[0]) or cliconfig.Node(path[0])
    if syntax.owns(top):
        return True
    if len(path) == 1:
        return False
    return syntax.owns_child(path[0], path[1], top)


def _names_engine_object(line: str, sections: dict[str, cliconfig.Node], syntax: cliconfig.PlatformSyntax) -> bool:
    """True when ``line`` names an object the engine owns (``syntax.references``: Junos ``vlan members
    guest`` of the engine's ``set vlans guest``), which goes with it (``cliconfig.merge``)."""
    for pattern, template in syntax.references:
        for text, node in sections.items():
            match = pattern.match(text)
            if match and template.format(**match.groupdict()) == line and syntax.owns(node):
                return True
    return False


def _commands(delta: Any, before: Any, syntax: cliconfig.PlatformSyntax) -> tuple[str, ...]:
    """The text to send: one space per level as the devices print it, sections closed by ``exit``
    where hier_config says so, trunk lists as ``add``/``remove`` continuations (``before`` None: the
    device had nothing configured)."""
    if syntax.style == "set":
        return tuple(child.text for child in delta.all_children_sorted())
    out: list[str] = []
    _emit(delta, before, syntax, out, 0)
    return tuple(out)


def _emit(node: Any, before: Any, syntax: cliconfig.PlatformSyntax, out: list[str], depth: int) -> None:
    for child in sorted(node.children, key=lambda c: c.order_weight):
        if before is None:  # nothing configured before: no trunk list to continue
            out.append(" " * depth + child.text)
        else:
            for text in _trunk_lines(child, before, syntax):
                out.append(" " * depth + text)
        if child.children:
            _emit(child, before, syntax, out, depth + 1)
            exit_text = child.sectional_exit
            if exit_text:
                out.append(" " * (depth + 1) + exit_text)


def _trunk_lines(child: Any, before: Any, syntax: cliconfig.PlatformSyntax) -> list[str]:
    trunk = syntax.trunk
    text = child.text
    if trunk is None or child.depth() != 2 or not trunk.allowed.match(text) or trunk.continuation(text):
        return [text]
    section = before.get_child(equals=child.parent.text)
    old_lines = [c.text for c in section.children if trunk.allowed.match(c.text)] if section is not None else []
    if not old_lines:
        return [text]
    old = trunk.fold(old_lines)
    new = trunk.fold([text])
    added, removed = sorted(new - old), sorted(old - new)
    lines = []
    if added:
        lines.append(trunk.continued("add", added))
    if removed:
        lines.append(trunk.continued("remove", removed))
    return lines
