"""Render compiled DeviceModels to per-platform configuration through Jinja2 templates.

Platform differences live in ``templates/<platform>/``: ``platform.yaml`` (syntax and ownership
rules, see ``engine.cliconfig``) and the templates. Undefined variables are errors
(``StrictUndefined``); autoescape is off because the output is device configuration, not HTML.
Templates are ours only: none is loaded from user input. Every string a template can reach is first
checked against what the platform accepts at that position (``tokens:`` in platform.yaml, see
``check_tokens``): the loader's name checks come first, this is the last line before a device.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import operator
import pickle
import re
import types
import typing
from collections.abc import Callable, Iterable, Iterator
from dataclasses import field, replace
from functools import cache, lru_cache
from itertools import chain
from typing import Any, cast

import jinja2

from engine import identifiers, jsontext, linux
from engine.cliconfig import PlatformSyntax, format_vlan_list
from engine.device import DeviceModel, Isolation, Match, QosClass, ShareClass
from engine.errors import IntentError, RenderError
from engine.frozen import frozen
from engine.platforms import TEMPLATES, platform_data
from engine.units import format_bps
from intents.match import dscp_name, port_masks


@frozen
class DeviceConfig:
    """The desired configuration of one device: text for humans and CLI devices, a document for Linux."""

    device: str
    platform: str
    text: str
    document: dict[str, Any] | None = None
    # Linux: (key, line) of every object of ``document`` as ``linux.objects`` lists them, when render made
    # them already (the template writes them; the plan diffs them): None, work them out from the document.
    objects: tuple[tuple[str, str], ...] | None = field(default=None, compare=False, repr=False)
    # Whether ``document`` holds a float (``jsontext.has_float``), looked for where render made it (in the
    # worker that rendered it, on a big site) so that writing the plan file need not walk every document
    # again: None, not known.
    floats: bool | None = field(default=None, compare=False, repr=False)


@frozen
class PlatformSpec:
    """A platform as its ``platform.yaml`` describes it: syntax, template, limits and the drivers that manage it."""

    name: str
    syntax: PlatformSyntax | None  # None for ``style: document`` (a state document instead of CLI text)
    template: str
    max_classes: int | None
    raw: dict[str, Any]
    drivers: tuple[str, ...] = ("napalm", "netmiko")  # the driver families that manage it; the first is the default
    running_file: str = ".cfg"  # how a saved running state is named: DIR/<device><running_file> (intent plan --running)


@cache
def platform_spec(platform: str) -> PlatformSpec:
    try:
        raw = platform_data(platform)
    except IntentError as exc:
        raise RenderError(str(exc)) from None
    syntax = None if raw["style"] == "document" else PlatformSyntax.from_dict(raw)
    return PlatformSpec(platform, syntax, raw["template"], raw.get("max_classes"), raw, tuple(raw["drivers"]),
                        raw.get("running_file", ".cfg"))


class _TemplateCache(jinja2.FileSystemBytecodeCache):
    """Jinja's file cache, where a cache entry that cannot be read or written (a full disk, a file
    cut short) only means compiling that template again: it never fails a plan."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, EOFError, ValueError, TypeError, pickle.UnpicklingError):  # cut short, or not Jinja's
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


def _compiled_templates() -> jinja2.BytecodeCache | None:
    """Jinja's cache of compiled templates, keyed by each source's checksum, in its per-user directory
    (made 0700, its owner checked): compiling the five platforms' templates costs every run 0.14 CPU s.
    None where that directory is not safe or cannot be made: templates are compiled as before."""
    try:
        return _TemplateCache()
    except (OSError, RuntimeError):
        return None


# Filters on prefixes: devices share most of theirs (a summary route, the guarantees' subnets), and an
# ``IPv4Network`` costs microseconds each time; the same text gives the same answer (or the same error).
@lru_cache(maxsize=1 << 14)
def _netmask(prefix: str) -> str:
    return str(ipaddress.IPv4Network(prefix).netmask)


@lru_cache(maxsize=1 << 14)
def _wildcard(prefix: str) -> str:
    return str(ipaddress.IPv4Network(prefix).hostmask)


@lru_cache(maxsize=1 << 14)
def _network(prefix: str) -> str:
    return str(ipaddress.IPv4Network(prefix).network_address)


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # package data, never edited under a running plan: no stat() per device
        bytecode_cache=_compiled_templates(),
        extensions=["jinja2.ext.loopcontrols"],  # {% break %}: a search over candidates ends at the first
    )
    env.filters.update(
        kbps=lambda bps: bps // 1000,
        mbps=lambda bps: bps // 1_000_000,
        bps_text=format_bps,
        tc_rate=linux.tc_rate,
        netmask=_netmask,
        wildcard=_wildcard,
        network=_network,
        dscp_name=dscp_name,
        port_masks=lambda ports: [block for low, high in ports for block in port_masks(low, high)],
        percent_of=lambda part, whole: max(1, round(100 * part / whole)),
        hex=lambda number: f"{number:x}",
        tojson=lambda value: json.dumps(value, sort_keys=True),
        vlan_ranges=format_vlan_list,
    )
    env.globals["protocol_names"] = {1: "icmp", 6: "tcp", 17: "udp", 47: "gre", 50: "esp", 132: "sctp"}
    env.globals.update(kmg=kmg, first_free_name=first_free_name)
    return env


def kmg(number: int) -> str:
    """A rate or size with the k/m/g suffix (k = 1000) when it divides exactly: 20000000 -> "20m"."""
    if number % 1_000_000_000 == 0:
        return str(number // 1_000_000_000) + "g"
    if number % 1_000_000 == 0:
        return str(number // 1_000_000) + "m"
    if number % 1000 == 0:
        return str(number // 1000) + "k"
    return str(number)


def first_free_name(names: dict[Any, Any], reserved: dict[Any, Any], out: dict[Any, Any], key: Any, owner: Any,
                    base: str, signature: Any) -> str:
    """A name for an object with ``signature``: ``base`` if it is free in ``names`` (name -> signature) or
    already this object's, else ``base-2``, ``base-3``... up to ``base-99`` (None past that). A name in
    ``reserved`` (name -> owner) is skipped unless ``owner`` owns it, so a variant of one object never takes
    another's own name. Records the name in ``names`` and as ``out[key]``; returns "" (for ``{% set _ = ... %}``)."""
    chosen = None
    for number in range(1, 100):
        candidate = base if number == 1 else f"{base}-{number}"
        if names.get(candidate) == signature or (candidate not in names and reserved.get(candidate, owner) == owner):
            chosen = candidate
            break
    names[chosen] = signature
    out[key] = chosen
    return ""


def guarantees(model: DeviceModel) -> list[QosClass]:
    """Each guarantee on the device once, with the matches of all its egress interfaces (for ACLs, class-maps)."""
    first: dict[str, QosClass] = {}
    # intent -> its matches on every interface, in order, once each: made at its second interface
    matches: dict[str, dict[Match, None]] = {}
    for policy in model.egress:
        for qos in policy.classes:
            known = first.get(qos.intent)
            if known is None:
                first[qos.intent] = qos
                continue
            found = matches.get(qos.intent)
            if found is None:
                found = matches[qos.intent] = dict.fromkeys(known.matches)
            if qos.matches != known.matches:  # most often the same matches (the same objects) on every port
                found.update(dict.fromkeys(qos.matches))
    merged = []
    for name in sorted(first):
        qos, found = first[name], matches.get(name)
        merged.append(qos if found is None or tuple(found) == qos.matches else replace(qos, matches=tuple(found)))
    return merged


# Positions other than a plain word, by (model class, field): everything else must be a `word`.
TOKEN_ROLES = {("Port", "name"): "interface", ("EgressPolicy", "interface"): "interface",
               ("NextHop", "interface"): "interface", ("Vlan", "name"): "vlan_name"}


def _strings(value: object, where: str, role: str = "word") -> Iterator[tuple[str, str, str]]:
    """Every string in a model, with where it is (``ports[1].name``) and its position's role."""
    if isinstance(value, str):
        yield where, role, str(value)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            yield from _strings(getattr(value, item.name), f"{where}.{item.name}" if where else item.name,
                                TOKEN_ROLES.get((type(value).__name__, item.name), "word"))
    elif isinstance(value, (tuple, list)):
        for index, item in enumerate(value):
            yield from _strings(item, f"{where}[{index}]", role)


@cache
def _fields(cls: type) -> tuple[tuple[str, str], ...]:
    """The fields of ``cls`` that can hold a string, with their roles: those whose type is made of
    ints, bools and None only (``vlans: tuple[int, ...]``, ``rate_bps: int``) are not walked."""
    hints = typing.get_type_hints(cls)
    return tuple((item.name, TOKEN_ROLES.get((cls.__name__, item.name), "word")) for item in dataclasses.fields(cls)
                 if not _stringless(hints.get(item.name, object)))


def _stringless(annotation: Any) -> bool:
    if annotation in (int, bool, type(None)):
        return True
    arguments = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin is tuple or origin is typing.Union or isinstance(annotation, types.UnionType):
        return bool(arguments) and all(argument is Ellipsis or _stringless(argument) for argument in arguments)
    return False


def _walk(value: object, role: str, found: dict[str, set[str]]) -> None:
    """Add every string of ``value`` to ``found`` by role, object by object: the general walk, for what
    ``_values``'s passes by class do not take (a value its field's annotation does not describe)."""
    stack: list[tuple[object, str]] = [(value, role)]
    while stack:
        value, role = stack.pop()
        if isinstance(value, str):
            found.setdefault(role, set()).add(value)
        elif isinstance(value, (tuple, list)):
            stack.extend((item, role) for item in value)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            for name, field_role in _fields(type(value)):
                item = getattr(value, name)
                if item is not None:
                    stack.append((item, field_role))


@frozen
class _Pass:
    """How ``_values`` reads one dataclass's string-bearing fields, all objects of the class at once:
    ``strings``, fields annotated as a string (or None); ``string_tuples``, as a tuple of strings;
    ``children``, as a tuple of dataclasses; ``other``, anything else (walked object by object)."""

    strings: tuple[tuple[Any, str], ...]
    string_tuples: tuple[tuple[Any, str], ...]
    children: tuple[tuple[Any, str], ...]
    other: tuple[tuple[Any, str], ...]


@cache
def _pass(cls: type) -> _Pass:
    hints = typing.get_type_hints(cls)
    strings, string_tuples, children, other = [], [], [], []
    for name, role in _fields(cls):
        annotation = hints.get(name, object)
        arguments = [argument for argument in typing.get_args(annotation) if argument is not type(None)]
        is_union = typing.get_origin(annotation) is typing.Union or isinstance(annotation, types.UnionType)
        if is_union and len(arguments) == 1:  # ``str | None``
            annotation = arguments[0]
            arguments = list(typing.get_args(annotation))
        getter = operator.attrgetter(name)
        if isinstance(annotation, type) and issubclass(annotation, str):
            strings.append((getter, role))
        elif typing.get_origin(annotation) is tuple and len(arguments) == 2 and arguments[1] is Ellipsis:
            item = arguments[0]
            if isinstance(item, type) and issubclass(item, str):
                string_tuples.append((getter, role))
            elif isinstance(item, type) and dataclasses.is_dataclass(item):
                children.append((getter, role))
            else:
                other.append((getter, role))
        else:
            other.append((getter, role))
    return _Pass(tuple(strings), tuple(string_tuples), tuple(children), tuple(other))


class _Unexpected(Exception):
    """A value ``_values``'s passes by class cannot take as its annotation says: walk the model in full."""


def _values(model: object) -> dict[str, set[str]]:
    """Every string of ``_strings`` by role, without the paths: the fast pass; paths are worked out only
    for a refusal."""
    return _values_of([model])


def _values_of(roots: list[Any]) -> dict[str, set[str]]:
    """Every string of every root (``_values`` of each, together). All objects of one dataclass are read
    at once, field by field, in C (``attrgetter`` over the lot); a value that is not what its field's
    annotation says is found out by the types seen, and then each root is walked object by object."""
    try:
        return _values_by_class(roots)
    except _Unexpected:
        found: dict[str, set[str]] = {}
        for root in roots:
            _walk(root, "word", found)
        return found


_STRING_TYPES = {str, type(None)}
_SEQUENCE_TYPES = {tuple, list}


def _sequences(getter: Any, objects: list[Any]) -> list[Any]:
    """``getter`` of each object, each a tuple or list as its field's annotation says (else ``_Unexpected``)."""
    sequences = list(map(getter, objects))
    if not set(map(type, sequences)) <= _SEQUENCE_TYPES:
        raise _Unexpected
    return sequences


@cache
def _is_dataclass(kind: type) -> bool:
    """``dataclasses.is_dataclass(kind)``, asked once per class: each model's check asks of every class in it."""
    return dataclasses.is_dataclass(kind)


def _by_type(objects: list[Any]) -> list[tuple[type, list[Any]]]:
    kinds = set(map(type, objects))
    if len(kinds) == 1:
        return [(kinds.pop(), objects)]
    return [(kind, [item for item in objects if type(item) is kind]) for kind in kinds]


def _values_by_class(roots: list[Any]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    work: list[tuple[type, list[Any]]] = []
    for kind, objects in _by_type(roots):
        if _is_dataclass(kind):
            work.append((kind, objects))
        else:
            for root in objects:
                _walk(root, "word", found)
    while work:
        cls, objects = work.pop()
        plan = _pass(cls)
        try:
            for getter, role in plan.strings:
                found.setdefault(role, set()).update(map(getter, objects))
            for getter, role in plan.string_tuples:
                found.setdefault(role, set()).update(chain.from_iterable(_sequences(getter, objects)))
        except TypeError:  # an unhashable value: not a string
            raise _Unexpected from None
        for getter, _role in plan.children:  # a dataclass's own fields say its strings' roles
            children = list(chain.from_iterable(_sequences(getter, objects)))
            if not children:  # a device without limits, isolations...: nothing to sort by class
                continue
            for kind, items in _by_type(children):
                if not _is_dataclass(kind):
                    raise _Unexpected
                work.append((kind, items))
        for getter, role in plan.other:
            for obj in objects:
                item = getter(obj)
                if item is not None:
                    _walk(item, role, found)
    for values in found.values():
        kinds = set(map(type, values))
        if not kinds <= _STRING_TYPES and not all(issubclass(kind, str) or kind is type(None) for kind in kinds):
            raise _Unexpected  # an int where a string was declared...: the full walk decides
        if type(None) in kinds:
            cast(set[object], values).discard(None)  # an optional field left empty
    return found


@lru_cache(maxsize=1 << 16)
def _token_ok(platform: str, role: str, value: str) -> bool:
    return identifiers.token_problem(platform, role, value) is None


def _all_plain_tokens(platform: str, role: str, values: set[str]) -> bool:
    """True when every value is printable ASCII the role's pattern matches whole: what ``token_problem``
    then says of each (None), found in passes in C over all of them; False means each is looked at in turn."""
    if not values:
        return True
    tokens = identifiers.platform_tokens(platform)
    pattern = tokens.get(role, tokens["word"])
    lines = _line_pattern(pattern.pattern)
    if lines is not None:
        # The values one a line, each matched whole: the pattern's classes hold printable ASCII only, so a
        # match is printable ASCII but for the line breaks between values, and there are as many of those
        # as there are values less one only when no value holds a line break of its own.
        text = "\n".join(values)
        return text.count("\n") == len(values) - 1 and lines.fullmatch(text) is not None
    text = "".join(values)
    if not (text.isascii() and text.isprintable()):  # no value holds a line break, a tab, a non-ASCII letter
        return False
    return all(map(pattern.fullmatch, values))


# A pattern made only of bracketed classes (no negation, no escapes), each with an optional quantifier:
# ``[A-Za-z][A-Za-z0-9/.:-]{0,63}``. Printable ASCII in such a class never matches a line break.
_CLASS_SEQUENCE = re.compile(r"(?:\[(?!\^)[^\]\\]+\](?:\{[0-9]+(?:,[0-9]*)?\}|[+*?])?)+")


@cache
def _line_pattern(pattern: str) -> re.Pattern[str] | None:
    """The values, one a line, each matched whole by ``pattern``: one regular-expression run over all of a
    role's values. Only for a ``_CLASS_SEQUENCE`` pattern: no match of it can hold the line break between
    two values (none of which holds one, ``_all_plain_tokens`` saw), so each match is exactly one value.
    None for any other pattern: its values are matched one by one."""
    if not (pattern.isascii() and pattern.isprintable() and _CLASS_SEQUENCE.fullmatch(pattern)):
        return None
    return re.compile(f"(?:(?:{pattern})\n)*(?:{pattern})")


def _refused(platform: str, found: dict[str, set[str]]) -> bool:
    """Whether any of ``found`` (role -> values) is a value the platform refuses at that position."""
    return not all(_all_plain_tokens(platform, role, values) or all(_token_ok(platform, role, value) for value in values)
                   for role, values in found.items() if values)


def check_tokens(model: DeviceModel) -> None:
    """Refuse to render a value the platform would not read as one token at its position (a line break,
    a space, a quote...): no value can ever end a configuration line or start another."""
    if not _refused(model.platform, _values(model)):
        return
    for where, role, value in _strings(model, ""):
        problem = identifiers.token_problem(model.platform, role, value)
        if problem:
            raise RenderError(f"{identifiers.shown(model.name)}: {where}: {problem}; refusing to render it")


def _all_tokens_plain(models: list[DeviceModel]) -> bool:
    """``check_tokens`` of every model at once: each platform's strings gathered together (devices share
    most of theirs: interface, intent and policy names) and each distinct one checked once."""
    by_platform: dict[str, list[DeviceModel]] = {}
    for model in models:
        by_platform.setdefault(model.platform, []).append(model)
    return not any(_refused(platform, _values_of(group)) for platform, group in by_platform.items())


def shares(model: DeviceModel) -> list[ShareClass]:
    """Each shared VLAN on the device once, with the destinations of all its egress interfaces (for ACLs,
    class-maps, forwarding classes)."""
    merged: dict[int, ShareClass] = {}
    for policy in model.egress:
        for share in policy.shares:
            known = merged.get(share.vlan)
            destinations = share.destinations + (known.destinations if known else ())
            ordered = tuple(sorted(set(destinations), key=ipaddress.IPv4Network))
            merged[share.vlan] = replace(share, destinations=ordered)
    return [merged[vid] for vid in sorted(merged)]


def isolations(model: DeviceModel) -> dict[int, list[Isolation]]:
    """VLAN -> what its traffic may not reach (isolate), for the filter on that VLAN's SVI / irb unit."""
    by_vlan: dict[int, list[Isolation]] = {}
    for isolation in model.isolations:
        by_vlan.setdefault(isolation.vlan, []).append(isolation)
    return by_vlan


def transit_isolations(model: DeviceModel) -> tuple[list[Isolation], list[str]]:
    """isolate on a router between the two gateways: every direction it carries, and the routed ports
    that traffic arrives on (where vendor platforms apply ``INTENT-ISOLATE-TRANSIT`` inbound)."""
    entries = [isolation for isolation in model.isolations if isolation.transit]
    ports = sorted({port for isolation in entries for port in isolation.transit})
    return entries, ports


def renderer(models: Iterable[DeviceModel]) -> Callable[[DeviceModel], DeviceConfig]:
    """What renders each of ``models`` (``render`` without a kernel): the token check made for all of them
    at once, here, so that each device's render skips it. When some value is refused, ``render`` itself:
    each device is checked as it is rendered, so the refusal is the one the first device with a problem
    gives."""
    return _render_checked if _all_tokens_plain(list(models)) else render


def _render_checked(model: DeviceModel) -> DeviceConfig:
    return _render(model, None)


def render(model: DeviceModel, kernel: dict[str, Any] | None = None) -> DeviceConfig:
    """The desired configuration of one device. ``kernel``: Linux features probed on the device
    (``{"drr": True}``); without it, what every kernel here has."""
    check_tokens(model)
    return _render(model, kernel)


@cache
def _template(platform: str) -> jinja2.Template:
    """The platform's template, looked up once: ``get_template`` takes a lock and reorders Jinja's cache
    on every call."""
    template = environment().get_template(f"{platform}/{platform_spec(platform).template}")
    # Jinja keeps a template's globals as a ChainMap over the environment's, so that later changes to
    # those show; ours are all set in ``environment()``, before any template loads. As a plain dict they
    # are copied into each render's context in C, not by the ChainMap's Python iteration (twice a render).
    template.globals = dict(template.globals)
    return template


def _render(model: DeviceModel, kernel: dict[str, Any] | None) -> DeviceConfig:
    """``render`` once its model's tokens are checked."""
    spec = platform_spec(model.platform)
    classes = {c.intent for policy in model.egress for c in policy.classes if not c.priority}
    if spec.max_classes is not None and len(classes) > spec.max_classes:
        raise RenderError(
            f"{model.name}: {len(classes)} guarantees meet on this {model.platform} device, which has queues for "
            f"{spec.max_classes}; merge some guarantees or route them apart"
        )
    device_shares = shares(model)
    queues = spec.raw.get("share_queues")
    if queues is not None:
        over = [share for share in device_shares if share.traffic_class not in queues]
        if over:
            raise RenderError(
                f"{model.name}: VLAN {over[0].vlan} of qos_share {over[0].intent} needs a queue, but this {model.platform} "
                f"device's queues {', '.join(str(q) for q in queues)} are taken by guarantees and other shares; "
                "share fewer VLANs here or route them apart"
            )
    document = linux.desired_state(model, kernel) if spec.syntax is None else None
    objects = tuple(linux.objects(document, ordered=True)) if document is not None else None
    transit, transit_ports = transit_isolations(model)
    try:
        text = _template(model.platform).render(
            device=model, document=document, objects=list(objects) if objects else [],
            guarantees=guarantees(model), shares=device_shares, isolations=isolations(model),
            transit=transit, transit_ports=transit_ports,
        )
    except jinja2.TemplateError as exc:
        raise RenderError(f"{model.name}: template {model.platform}/{spec.template} failed: {exc}") from exc
    return DeviceConfig(model.name, model.platform, text, document, objects,
                        jsontext.has_float(document) if document is not None else False)
