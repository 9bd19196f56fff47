"""Load and validate a site: site file, Ansible inventory, topology, intents.

Every problem in every file is collected and raised once as ``ValidationError`` with
``FILE:LINE:COL`` for each: JSON Schema first (draft 2020-12), then semantic checks.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import os
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine import gcpause, identifiers, inventory, jsontext
from engine.errors import IntentError, ValidationError
from engine.model import Defaults, Device, Endpoint, Intent, Link, Site
from engine.platforms import known_platforms, network_os_aliases
from engine.render import platform_spec
from engine.secrets import looks_secret
from engine.units import parse_bandwidth, parse_percent
from engine.yamlsrc import JsonPath, LaterLoad, SourceDoc, Vaulted, load_yaml
from intents.base import Kind, ParseContext, Problem
from intents.registry import Registry

if TYPE_CHECKING:
    import jsonschema

    from engine.driver import DriverRegistry

ROUTING_MODES = ("summarised", "static-full")
PASSWORD_KEYS = ("password", "ansible_password", "ansible_ssh_pass")
# Variables that say how to reach a device: a reference in them that cannot be resolved is an error.
CONNECTION_KEYS = ("host", "ansible_host", "port", "ansible_port", "username", "ansible_user", "ansible_network_os",
                   "platform", "driver", "netns")
# Privilege passwords: never in clear either (intent escalates with sudo -n and never sends them).
BECOME_PASSWORD_KEYS = ("ansible_become_password", "ansible_become_pass", "become_password")
_ENV_LOOKUP = re.compile(r"""^\{\{\s*lookup\(\s*['"]env['"]\s*,\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\)\s*\}\}$""")


@cache
def schema(name: str) -> dict[str, Any]:
    """A shipped schema: ``site``, ``inventory`` or ``topology``."""
    text = Path(__file__).with_name("schemas").joinpath(f"{name}.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def editor_schema(registry: Registry | None = None) -> dict[str, Any]:
    """The site schema with every intent kind inlined, for editors (yaml-language-server)."""
    registry = registry or Registry()
    combined = copy.deepcopy(schema("site"))
    items = combined["properties"]["intents"]["items"]
    variants = []
    for kind in registry.ordered():
        body = {k: v for k, v in kind.schema.items() if k not in ("$schema", "$id")}
        variants.append({
            "type": "object", "additionalProperties": False, "required": ["name", kind.key],
            "properties": {"name": items["properties"]["name"], kind.key: body},
        })
    combined["properties"]["intents"]["items"] = {"oneOf": variants}
    return combined


def editor_inventory_schema(drivers: DriverRegistry | None = None) -> dict[str, Any]:
    """The inventory schema for editors: the shipped platforms and the installed drivers offered as
    completions (``examples``). The names stay open in the schema: the loader refuses one there is not."""
    if drivers is None:
        from engine.driver import DriverRegistry

        drivers = DriverRegistry.installed()
    combined = copy.deepcopy(schema("inventory"))
    properties = combined["$defs"]["vars"]["properties"]
    properties["platform"]["examples"] = list(known_platforms())
    properties["driver"]["examples"] = drivers.names()
    return combined


_FAST: dict[int, tuple[dict[str, Any], Any]] = {}
_WORDING: dict[int, tuple[dict[str, Any], jsonschema.Draft202012Validator]] = {}


def _fast_validator(schema_doc: dict[str, Any]) -> Any:
    """jsonschema-rs's validator of one schema object (Rust, same draft), or None: it only says whether
    there is a problem, but most documents have none, and it tells that 50 times faster. Shipped and
    kinds' schemas live as long as the process, so validators are kept per schema object."""
    known = _FAST.get(id(schema_doc))
    if known is None or known[0] is not schema_doc:
        try:
            import jsonschema_rs

            fast: Any = jsonschema_rs.Draft202012Validator(schema_doc)
        except Exception:  # noqa: BLE001 - not installed, or a schema it does not take: jsonschema alone
            fast = None
        known = _FAST[id(schema_doc)] = (schema_doc, fast)
    return known[1]


def _wording_validator(schema_doc: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """jsonschema's validator, which words every problem; imported only when there is one to word
    (jsonschema and its referencing stack are a third of the CLI's start-up)."""
    known = _WORDING.get(id(schema_doc))
    if known is None or known[0] is not schema_doc:
        known = _WORDING[id(schema_doc)] = (schema_doc, _strict_integers()(schema_doc))
    return known[1]


@cache
def _strict_integers() -> type[jsonschema.Draft202012Validator]:
    """Draft 2020-12 where an integer is an int: ``weight: 3.0`` or ``id: 10.0`` is "expected integer,
    got float 10.0", not a VLAN rendered as ``vlan 10.0`` (JSON Schema itself counts 10.0 as an integer)."""
    import jsonschema

    def integer(checker: Any, instance: Any) -> bool:
        return isinstance(instance, int) and not isinstance(instance, bool)

    base = jsonschema.Draft202012Validator
    strict: type[jsonschema.Draft202012Validator] = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
        base, type_checker=base.TYPE_CHECKER.redefine("integer", integer))
    return strict


@cache
def _name_form(key: str) -> re.Pattern[str]:
    """The form the inventory schema gives ``platform`` or ``driver`` (the schema reports a value
    not of that form; the loader then checks the name against the platforms and drivers there are)."""
    return re.compile(schema("inventory")["$defs"]["vars"]["properties"][key]["pattern"])


def _schema_problems(doc: SourceDoc, schema_doc: dict[str, Any], base: JsonPath = ()) -> list[Problem]:
    fast = _fast_validator(schema_doc)
    if fast is not None:
        instance = doc.data
        for key in base:
            instance = instance[key]
        try:
            if fast.is_valid(instance) and not doc.whole_floats:
                return []
        except Exception:  # noqa: BLE001 - a value it cannot read (a date...): let jsonschema judge
            pass
    instance = doc.data
    for key in base:
        instance = instance[key]
    problems = []
    for error in _wording_validator(schema_doc).iter_errors(instance):
        path: JsonPath = (*base, *error.absolute_path)
        where = doc.at(path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            rule: Any = error.schema if isinstance(error.schema, dict) else {}
            extra = sorted(k for k in error.instance if k not in rule.get("properties", {}))
            where = doc.at_key((*path, str(extra[0]))) if extra else where
        problems.append((where, _describe(error)))
    return problems


def _path_part(part: object) -> str:
    """One step of a JSON path in a message: a key with a line break or control character is quoted
    and escaped, so no message ever spans two lines."""
    text = str(part)
    return text if text.isprintable() and text.strip() == text else repr(text)


def _describe(error: jsonschema.ValidationError) -> str:
    where = ".".join(_path_part(p) for p in error.absolute_path)
    if any(looks_secret(str(part)) for part in error.absolute_path) and error.validator not in (
            "additionalProperties", "required"):
        limit: Any = error.validator_value
        wanted = limit if isinstance(limit, str) else " or ".join(map(str, limit)) if isinstance(limit, list) else limit
        return f"{where}: invalid value (not shown: it may be a secret): " + (
            f"expected {wanted}" if error.validator == "type" else
            f"expected the form {limit}" if error.validator == "pattern" else f"fails {error.validator} {limit}")
    prefix = f"{where}: " if where else ""
    rule: Any = error.schema if isinstance(error.schema, dict) else {}
    expected: Any = error.validator_value
    if error.validator == "additionalProperties":
        instance: Any = error.instance
        extra = sorted(set(instance) - set(rule.get("properties", {})))
        allowed = ", ".join(sorted(rule.get("properties", {})))
        return f"{prefix}unknown key {', '.join(map(repr, extra))}" + (f" (allowed: {allowed})" if allowed else "")
    if error.validator == "required":
        present: Any = error.instance
        missing = [k for k in expected if k not in present]
        return f"{prefix}missing required key {', '.join(map(repr, missing))}"
    if error.validator == "type":
        wanted = expected if isinstance(expected, str) else " or ".join(expected)
        return f"{prefix}expected {wanted}, got {_shown(error.instance)}"
    if error.validator == "enum":
        return f"{prefix}{_shown(error.instance)} is not one of {', '.join(map(str, expected))}"
    if error.validator == "pattern":
        return f"{prefix}{_shown(error.instance)} does not match the expected form {expected}"
    if error.validator in ("minimum", "maximum"):
        return f"{prefix}{error.instance} is out of range ({error.validator} {expected})"
    if error.validator in ("minItems", "maxItems") and isinstance(error.instance, list):
        count, low, high = len(error.instance), rule.get("minItems"), rule.get("maxItems")
        wanted = f"exactly {low}" if low == high else f"at least {low}" if error.validator == "minItems" \
            else f"at most {high}"
        return f"{prefix}{count} entr{'y' if count == 1 else 'ies'}, {wanted} needed"
    return f"{prefix}{error.message}"


def _shown(value: Any) -> str:
    if isinstance(value, Vaulted):
        return "an encrypted value"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (dict, list)):
        return "a mapping" if isinstance(value, dict) else "a list"
    return f"{type(value).__name__} {value!r}" if not isinstance(value, str) else repr(value)


@gcpause.paused
def load_site(source: str | os.PathLike[str], *, allow_plaintext_secrets: bool = False,
              registry: Registry | None = None, drivers: DriverRegistry | None = None,
              keep: list[object] | None = None) -> Site:
    """Load, validate and return the site at ``path``; raise ValidationError listing every problem.
    ``drivers``: the driver names an inventory may use (default: every installed one). ``keep``: a list
    that takes the documents read (their data and node trees) instead of freeing them at return, for a
    program that ends without freeing anything (the intent CLI): freeing them one object at a time is
    16 ms of a 1,000-device load."""
    registry = registry or Registry()
    site_path = Path(source)
    site_doc = load_yaml(site_path)
    if not isinstance(site_doc.data, dict):
        raise ValidationError([(site_doc.at(()), "the site file must be a mapping with site, inventory, topology, intents")])
    data = site_doc.data
    # The topology (a fabric's largest file) is parsed in a child where a core is idle, while this
    # process checks the site file and loads the inventory.
    topology_load = LaterLoad(site_path.parent / data["topology"], _display(site_path, data["topology"])) \
        if isinstance(data.get("topology"), str) else None
    try:
        return _load_site(site_path, site_doc, topology_load, allow_plaintext_secrets, registry, drivers, keep)
    finally:
        if topology_load is not None:
            topology_load.close()


def _load_site(site_path: Path, site_doc: SourceDoc, topology_load: LaterLoad | None, allow_plaintext_secrets: bool,
               registry: Registry, drivers: DriverRegistry | None, keep: list[object] | None) -> Site:
    """``load_site`` once the site file is read (``topology_load``: its topology, if it names one)."""
    problems: list[Problem] = []
    problems += _schema_problems(site_doc, schema("site"))
    problems += _text_problems(site_doc)
    data = site_doc.data
    _check_name(site_doc, ("site",), identifiers.SITE, data.get("site"), problems)
    defaults = _defaults(site_doc, problems)

    devices: dict[str, Device] = {}
    known_hosts: set[str] = set()
    inventory_doc = None
    inventory_files: tuple[str, ...] = ()
    if isinstance(data.get("inventory"), str):
        try:
            inventory_doc = inventory.read(site_path.parent / data["inventory"], _display(site_path, data["inventory"]))
            devices, known_hosts, inventory_files = _inventory(inventory_doc, problems, allow_plaintext_secrets,
                                                               drivers)
        except ValidationError as exc:
            problems += exc.problems
    # What the intents say that needs no topology is checked while a child may still be parsing it.
    raw_intents: list[Any] = data["intents"] if isinstance(data.get("intents"), list) else []
    screened: list[Problem] = []
    seen_names: dict[str, int] = {}
    to_parse = _screen_intents(site_doc, raw_intents, registry, devices, screened, seen_names)

    links: tuple[Link, ...] = ()
    topology_doc = None
    if topology_load is not None:
        try:
            topology_doc = topology_load.result()
            links = _topology(topology_doc, devices, problems, known_hosts if inventory_doc is not None else None)
        except ValidationError as exc:
            problems += exc.problems

    ctx = ParseContext(devices, links, site_doc.at, problems=screened, known_hosts=known_hosts)
    intents: list[Intent] = []
    located: dict[str, int] = {}  # intent name -> its index in the site file's list
    for index, name, kind in to_parse:
        intent = kind.parse(name, raw_intents[index][kind.key], ("intents", index, kind.key), ctx)
        if intent is not None:
            intents.append(intent)
            located[name] = index
    locations = IntentLocations(site_doc, located, len(raw_intents))

    files = tuple(str(doc.path) for doc in (site_doc, inventory_doc, topology_doc) if doc is not None) + inventory_files
    site = Site(str(data.get("site", "site")), str(site_path), devices, links, defaults, tuple(intents), files, locations)
    ctx.intent_paths = {intent.name: ("intents", seen_names[intent.name], intent.kind) for intent in intents}
    for kind in registry.ordered():
        kind.check(site.intents_of(kind.key), site, ctx)
    problems += ctx.problems
    if problems:
        raise ValidationError(_prefer_name_checks(problems))
    if keep is not None:
        keep.extend((site_doc, inventory_doc, topology_doc, ctx))
    return site


class IntentLocations(Mapping[str, str]):
    """Intent name -> "FILE:LINE:COL" of its item in the site file, found when first asked for: only an
    error or an edit asks, and finding them takes the file's node tree, which a site file parsed in a
    child (``yamlsrc.prefetch``) has not made here (composing it is most of parsing the file again)."""

    def __init__(self, doc: SourceDoc, located: dict[str, int], count: int) -> None:
        self._doc, self._located, self._count = doc, located, count
        self._found: dict[str, str] | None = None

    def _all(self) -> dict[str, str]:
        if self._found is None:
            items = self._doc.item_locations(("intents",), self._count)
            self._found = {name: items[index] for name, index in self._located.items()}
        return self._found

    def __getitem__(self, name: str) -> str:
        return self._all()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._located)

    def __len__(self) -> int:
        return len(self._located)

    def __contains__(self, name: object) -> bool:
        return name in self._located

    def __repr__(self) -> str:
        return f"IntentLocations({self._all()!r})"


def _screen_intents(site_doc: SourceDoc, raw_intents: list[Any], registry: Registry, devices: dict[str, Device],
                    problems: list[Problem], seen_names: dict[str, int]) -> list[tuple[int, str, Kind]]:
    """The intents a kind may parse (index, name, kind): each named once with a valid name, of exactly one
    known kind, its body valid against the kind's schema with valid names in it; what is wrong with the
    others goes to ``problems``, each name's first index to ``seen_names``."""
    to_parse: list[tuple[int, str, Kind]] = []
    for index, item in enumerate(raw_intents):
        path = ("intents", index)
        if not isinstance(item, dict):
            continue  # reported by the schema
        name = item.get("name")
        if isinstance(name, str) and _check_name(site_doc, (*path, "name"), identifiers.INTENT, name, problems):
            continue
        if isinstance(name, str):
            if name in seen_names:
                problems.append((site_doc.at((*path, "name")),
                                 f"duplicate intent name {name!r} (first at item {seen_names[name] + 1})"))
                continue
            seen_names[name] = index
        kinds = [key for key in item if key != "name"]
        known = [key for key in kinds if key in registry.kinds]
        unknown = [key for key in kinds if key not in registry.kinds]
        for key in unknown:
            problems.append((site_doc.at_key((*path, key)), f"unknown intent kind {key!r} (known: {', '.join(sorted(registry.kinds))})"))
        if not kinds:
            problems.append((site_doc.at(path), f"intent {name!r} has no kind: add one of {', '.join(sorted(registry.kinds))}"))
        if len(known) > 1:
            problems.append((site_doc.at(path), f"intent {name!r} has {len(known)} kinds ({', '.join(known)}); "
                             "write exactly one per intent"))
        if len(known) != 1 or unknown or not isinstance(name, str):
            continue
        kind = registry.kinds[known[0]]
        before = len(problems)
        problems += _schema_problems(site_doc, kind.schema, (*path, kind.key))
        _check_body_names(site_doc, (*path, kind.key), item[kind.key], devices, problems)
        if len(problems) > before or not isinstance(item[kind.key], dict):
            continue
        to_parse.append((index, name, kind))
    return to_parse


def _prefer_name_checks(problems: list[Problem]) -> list[Problem]:
    """Where a name check and the schema's pattern or the plain text check both refuse a value, keep the
    name check (it says what the value is and why)."""
    def generic(message: str) -> bool:
        return "does not match the expected form" in message or message.startswith(("'", '"'))

    named = {where for where, message in problems if not generic(message)}
    return [(where, message) for where, message in problems if not (generic(message) and where in named)]


def load_inventory(source: str | os.PathLike[str], *, allow_plaintext_secrets: bool = False,
                   drivers: DriverRegistry | None = None) -> dict[str, Device]:
    """An Ansible inventory alone (for intent discover); every problem raised at once."""
    doc = inventory.read(Path(source))
    problems: list[Problem] = []
    devices, _, _ = _inventory(doc, problems, allow_plaintext_secrets, drivers)
    if problems:
        raise ValidationError(problems)
    return devices


def _check_name(doc: SourceDoc | inventory.Sources, path: JsonPath, rule: identifiers.NameRule, value: Any, problems: list[Problem],
                key: bool = False) -> bool:
    """Report ``value`` if it is not a valid ``rule`` name (located at the value, or at its key); True if bad."""
    if not isinstance(value, str):
        return False  # the schema reports the type
    problem = identifiers.name_problem(rule, value)
    if problem:
        problems.append((doc.at_key(path) if key else doc.at(path), problem))
    return problem is not None


def _plain_text(data: Any) -> bool:
    """Whether every key and string in ``data`` is printable ASCII (one pass without paths: the common case)."""
    if type(data) not in (dict, list):
        return not isinstance(data, (str, dict, list))  # a scalar document; a str subclass: the full check
    if jsontext.printable_ascii(data):
        return True  # told in C; otherwise (a backslash, say) looked at string by string
    stack = [data]
    while stack:
        value = stack.pop()
        if type(value) is dict:
            for key in value:
                if type(key) is not str or not (key.isascii() and key.isprintable()):
                    return False
            value = value.values()
        for item in value:  # a mapping's values or a list's items, checked alike
            if type(item) is str:
                if not (item.isascii() and item.isprintable()):
                    return False
            elif type(item) in (dict, list):
                stack.append(item)
            elif isinstance(item, (str, dict, list)):
                return False  # a subclass (a vaulted value): let the full check judge
    return True


def _text_problems(doc: SourceDoc) -> list[Problem]:
    """No line break or control character anywhere in a site or topology file: they hold no free text."""
    if _plain_text(doc.data):
        return []
    return [(doc.at_key(path) if is_key else doc.at(path), problem)
            for path, is_key, problem in identifiers.text_problems(doc.data)]


def _check_endpoint(doc: SourceDoc, path: JsonPath, text: Any, devices: dict[str, Device],
                    problems: list[Problem]) -> bool:
    """``device:interface``: both names valid (the interface as its device's platform names them); True if bad."""
    if not isinstance(text, str) or ":" not in text:
        return False  # the schema reports it
    device, interface = text.split(":", 1)
    known = devices.get(device)
    if known is None:
        device_problem = _device_name_problem(device)
        if device_problem:
            problems.append((doc.at(path), device_problem))
            return True
    # a device of ``devices`` has a valid name (``_device`` loaded it); the few interface names of a
    # platform recur on every device of a fabric: each checked once
    problem = _interface_problem(known.platform if known is not None else None, interface)
    if problem:
        problems.append((doc.at(path), problem))
    return problem is not None


@lru_cache(maxsize=1 << 16)
def _device_name_problem(device: str) -> str | None:
    return identifiers.name_problem(identifiers.DEVICE, device)


@lru_cache(maxsize=1 << 16)
def _interface_problem(platform: str | None, interface: str) -> str | None:
    return identifiers.interface_problem(platform, interface)


def _check_body_names(doc: SourceDoc, path: JsonPath, body: Any, devices: dict[str, Device],
                      problems: list[Problem]) -> None:
    """Names inside an intent body: a VLAN's name and its access ports."""
    if not isinstance(body, dict):
        return
    if path[-1] == "vlan":
        _check_name(doc, (*path, "name"), identifiers.VLAN_NAME, body.get("name"), problems)
    access = body.get("access")
    for index, port in enumerate(access if isinstance(access, list) else []):
        _check_endpoint(doc, (*path, "access", index), port, devices, problems)


def _driver_problem(platform: str, driver: str, managed_by: tuple[str, ...], drivers: DriverRegistry) -> str | None:
    """Why ``driver`` cannot manage a ``platform`` device, or None. The platform.yaml files say which
    platforms the families they name manage; any other driver of the registry says it itself
    (``platforms``, engine.driver.ManagesPlatforms), and is imported only to be asked."""
    from engine.driver import ManagesPlatforms

    if driver not in drivers.names():
        return (f"driver {driver!r} is not installed (installed drivers: {', '.join(drivers.names()) or 'none'}; "
                "a driver is registered in the intent_engine.drivers entry-point group of its distribution)")
    if driver in managed_by:
        return None
    if any(driver in platform_spec(other).drivers for other in known_platforms()):
        return f"driver {driver} cannot manage platform {platform} (its drivers: {', '.join(managed_by)})"
    try:
        plugin = drivers.get(driver)
    except IntentError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - a third-party distribution that does not import: say so, do not crash
        return f"driver {driver} cannot be loaded: {type(exc).__name__}: {exc}"
    platforms = tuple(plugin.platforms) if isinstance(plugin, ManagesPlatforms) else ()
    if platform in platforms:
        return None
    return (f"driver {driver} cannot manage platform {platform} (the platforms it manages: "
            f"{', '.join(platforms) or 'none named'}; platform {platform}'s drivers: {', '.join(managed_by)})")


def _display(site_path: Path, relative: str) -> str:
    return os.path.normpath(str(site_path.parent / relative))


def _defaults(doc: SourceDoc, problems: list[Problem]) -> Defaults:
    raw = doc.data.get("defaults") or {}
    if not isinstance(raw, dict):
        return Defaults()
    reservable = Decimal(100)
    pool = Defaults().transit_pool
    if isinstance(raw.get("reservable"), str):
        try:
            reservable = parse_percent(raw["reservable"])
        except ValueError as exc:
            problems.append((doc.at(("defaults", "reservable")), str(exc)))
    if isinstance(raw.get("transit_pool"), str):
        try:
            network = ipaddress.IPv4Network(raw["transit_pool"])
            if network.prefixlen > 30:
                raise ValueError("too small")
            pool = str(network)
        except ValueError:
            problems.append((doc.at(("defaults", "transit_pool")),
                             f"invalid transit_pool {raw['transit_pool']!r}: an IPv4 network of /30 or larger, e.g. 10.255.0.0/16"))
    routing = raw.get("routing", Defaults().routing)
    if routing not in ROUTING_MODES:
        routing = Defaults().routing  # the schema has reported it
    return Defaults(reservable, pool, routing)


def _inventory(doc: SourceDoc, problems: list[Problem], allow_plaintext: bool, drivers: DriverRegistry | None = None
               ) -> tuple[dict[str, Device], set[str], tuple[str, ...]]:
    """Devices that loaded, every host name the inventory mentions (valid or not), and the
    group_vars/host_vars files read (engine.inventory: Ansible's files and precedence)."""
    if drivers is None:
        from engine.driver import DriverRegistry

        drivers = DriverRegistry.installed()
    if isinstance(doc.data, dict):
        problems += _schema_problems(doc, schema("inventory"))  # reported; hosts still load where they can
    sources, hosts = inventory.collect(doc, problems)
    devices: dict[str, Device] = {}
    driver_problems: dict[tuple[str, str], str | None] = {}  # (platform, driver) -> _driver_problem, once each
    for name, host in hosts.items():
        merged, missing = inventory.resolve(name, host.merged)
        for path, variable in missing:
            if path[-1] in CONNECTION_KEYS:
                problems.append((sources.at(path), f"host {name}: {path[-1]} refers to {{{{ {variable} }}}}, which the "
                                 "inventory does not define"))
        device = _device(name, merged, sources, host.where, problems, allow_plaintext, host.groups, drivers,
                         driver_problems)
        if device:
            devices[name] = device
    return devices, set(hosts), tuple(str(d.path) for d in sources.docs[1:])


def _device(name: str, merged: dict[str, tuple[JsonPath, Any]], doc: SourceDoc | inventory.Sources, where: JsonPath,
            problems: list[Problem], allow_plaintext: bool, groups: tuple[str, ...],
            drivers: DriverRegistry, driver_problems: dict[tuple[str, str], str | None] | None = None) -> Device | None:
    def get(*keys: str) -> tuple[JsonPath, Any] | tuple[None, None]:
        """The first of ``keys`` the host has (one key: ``merged.get(key, _ABSENT)``, a C call)."""
        for key in keys:
            if key in merged:
                return merged[key]
        return _ABSENT

    if _check_name(doc, where, identifiers.DEVICE, name, problems, key=True):
        return None
    netns_path, netns_value = merged.get("netns", _ABSENT)
    if netns_path is not None and _check_name(doc, netns_path, identifiers.NETNS, netns_value, problems):
        return None
    interfaces_path, interfaces_value = merged.get("interfaces", _ABSENT)
    if interfaces_path is not None and isinstance(interfaces_value, list):
        platform_value = merged.get("platform", _ABSENT)[1] or network_os_aliases().get(str(merged.get("ansible_network_os", _ABSENT)[1]).lower())
        known_platform = platform_value if platform_value in known_platforms() else None
        bad = [(doc.at((*interfaces_path, index)), problem) for index, value in enumerate(interfaces_value)
               if isinstance(value, str) and (problem := identifiers.interface_problem(known_platform, value))]
        if bad:
            problems.extend(bad)
            return None
    platform_path, platform = merged.get("platform", _ABSENT)
    if platform is None:
        platform_path, os_name = merged.get("ansible_network_os", _ABSENT)
        if os_name is not None:
            aliases = network_os_aliases()  # network_os: in templates/<platform>/platform.yaml
            platform = aliases.get(str(os_name).lower())
            if platform is None:
                problems.append((doc.at(platform_path or where), f"host {name}: unsupported ansible_network_os {os_name!r} "
                                 f"(supported: {', '.join(sorted(aliases))})"))
                return None
    if platform is None:
        problems.append((doc.at(where), f"host {name}: no platform; set platform ({', '.join(known_platforms())}) "
                         "or ansible_network_os"))
        return None
    driver_path, driver = merged.get("driver", _ABSENT)
    if not isinstance(platform, str) or not (driver is None or isinstance(driver, str)) \
            or not _name_form("platform").fullmatch(platform) or driver is not None and not _name_form("driver").fullmatch(driver):
        return None  # the schema has reported it
    if platform not in known_platforms():
        problems.append((doc.at(platform_path or where), f"host {name}: platform {platform!r} is not one of "
                         f"{', '.join(known_platforms())} (the directories of templates/)"))
        return None
    managed_by = platform_spec(platform).drivers  # templates/<platform>/platform.yaml: the first is the default
    connection_path, connection = merged.get("ansible_connection", _ABSENT)
    if connection is not None:  # the driver it means, unless the inventory names one (an explicit driver wins)
        meant, problem = inventory.connection_driver(str(connection), platform)
        if problem is not None and (driver is None or problem.startswith("unsupported")):
            problems.append((doc.at(connection_path or where), f"host {name}: {problem}"))
            return None
        driver = driver or meant
    driver = driver or managed_by[0]
    if driver_problems is None:
        driver_problems = {}
    if (platform, driver) not in driver_problems:
        driver_problems[(platform, driver)] = _driver_problem(platform, driver, managed_by, drivers)
    problem = driver_problems[(platform, driver)]
    if problem:
        problems.append((doc.at(driver_path or where), f"host {name}: {problem}"))
        return None
    password_env = merged.get("password_env", _ABSENT)[1]
    password = None
    secret_path, secret = get(*PASSWORD_KEYS)
    if secret is not None and secret_path is not None:
        lookup = _ENV_LOOKUP.match(secret) if isinstance(secret, str) else None
        if lookup:
            password_env = password_env or lookup.group(1)
        elif isinstance(secret, inventory.Unresolved):
            # "{{ vault_password }}" that the inventory does not define: asked for at connect time
            # (or read from the environment variable of that name), never taken as a password.
            password_env = password_env or secret.variable
        elif isinstance(secret, Vaulted):
            problems.append((doc.at(secret_path), f"host {name}: {secret_path[-1]} is ansible-vault encrypted, which "
                             "intent cannot decrypt; use password_env: VARIABLE instead"))
        elif allow_plaintext:
            password = str(secret)
        else:
            problems.append((doc.at(secret_path), f"host {name}: plaintext {secret_path[-1]} refused; use "
                             "password_env: VARIABLE (or --allow-plaintext-secrets)"))
    become_path, become_secret = get(*BECOME_PASSWORD_KEYS)
    if become_path is not None and become_secret is not None and not isinstance(become_secret, inventory.Unresolved) \
            and not (isinstance(become_secret, str) and _ENV_LOOKUP.match(become_secret)):
        if isinstance(become_secret, Vaulted):
            problems.append((doc.at(become_path), f"host {name}: {become_path[-1]} is ansible-vault encrypted, which "
                             "intent cannot decrypt; use a lookup('env', ...) or sudo without a password"))
        elif not allow_plaintext:
            problems.append((doc.at(become_path), f"host {name}: plaintext {become_path[-1]} refused, like "
                             "ansible_password; use {{ lookup('env', 'VARIABLE') }} (or --allow-plaintext-secrets)"))
    interfaces = merged.get("interfaces", _ABSENT)[1]
    port = get("port", "ansible_port")[1]
    netns = merged.get("netns", _ABSENT)[1]
    host = get("host", "ansible_host")[1]
    if host is None and netns is None:
        host = name  # Ansible's rule: the inventory name is the address
    napalm_args_path, napalm_args = merged.get("napalm_optional_args", _ABSENT)
    if napalm_args is not None and not isinstance(napalm_args, dict):
        problems.append((doc.at(napalm_args_path or where), f"host {name}: napalm_optional_args must be a mapping"))
        napalm_args = None
    if isinstance(napalm_args, dict) and isinstance(napalm_args.get("path"), str):
        napalm_args = {**napalm_args, "path": str(Path(doc.path).parent / napalm_args["path"])}  # mock recordings
    key_file = get("key_file", "ansible_ssh_private_key_file")[1]
    become = inventory.boolean(get("become", "ansible_become")[1] or False)
    extra = tuple(sorted((k, v) for k, (_, v) in merged.items() if k not in _DEVICE_FIELDS and not isinstance(v, (dict, list))))
    if merged.get("ansible_httpapi_validate_certs", _ABSENT)[1] is False and "tls_verify" not in merged:
        extra = tuple(sorted((*extra, ("tls_verify", False))))  # eAPI over HTTPS without certificate checks
    return Device(
        name=name, platform=platform, driver=driver, host=host, port=port, netns=netns,
        username=get("username", "ansible_user")[1], password_env=password_env, password=password,
        interfaces=tuple(interfaces) if interfaces is not None else None, groups=groups, extra=extra,
        key_file=str(Path(doc.path).parent / key_file) if isinstance(key_file, str) and not key_file.startswith(("/", "~"))
        else (os.path.expanduser(key_file) if isinstance(key_file, str) else None),
        become=become, napalm_driver=merged.get("napalm_driver", _ABSENT)[1],
        napalm_args=tuple(sorted((napalm_args or {}).items())),
    )


_ABSENT: tuple[None, None] = (None, None)  # (where, value) of a variable the host does not have
# Variables a Device has a field for (or that say how to log in); the others are kept as ``extra``.
_DEVICE_FIELDS = frozenset({"platform", "driver", "host", "ansible_host", "port", "ansible_port", "username", "ansible_user",
                            "password_env", "netns", "interfaces", "ansible_network_os", "key_file",
                            "ansible_ssh_private_key_file", "become", "ansible_become", "napalm_driver",
                            "napalm_optional_args", *PASSWORD_KEYS})


def _topology(doc: SourceDoc, devices: dict[str, Device], problems: list[Problem],
              known_hosts: set[str] | None) -> tuple[Link, ...]:
    """Links between inventory devices. ``known_hosts`` is None when the inventory could not be read.
    Endpoint names are checked first: where one is refused, only those refusals are reported."""
    if not isinstance(doc.data, dict):
        problems.append((doc.at(()), "the topology must be a mapping with 'links'"))
        return ()
    before = len(problems)
    problems += _schema_problems(doc, schema("topology"))
    problems += _text_problems(doc)
    raw_links = doc.data.get("links") or [] if isinstance(doc.data.get("links"), list) else []
    if len(problems) > before:  # no link is made: the names are still checked and reported
        for index, raw in enumerate(raw_links):
            for side in ("a", "b"):
                if isinstance(raw, dict):
                    _check_endpoint(doc, ("links", index, side), raw.get(side), devices, problems)
        return ()
    # Schema-valid from here: every end is "device:interface". Names and links are checked in one pass.
    named: list[Problem] = []  # names refused, in link and side order
    found: list[Problem] = []  # what else is wrong with links, reported only when no name is refused
    links: list[Link] = []
    bandwidths: dict[str, int] = {}  # a fabric writes the same few rates on every link
    used: dict[str, int] = {}  # "device:interface" as written, one per endpoint (hashing an Endpoint costs more)
    for index, raw in enumerate(raw_links):
        path: JsonPath = ("links", index)
        ok = True
        ends = []
        for side in ("a", "b"):
            text = raw[side]
            device, interface = text.split(":", 1)
            known = devices.get(device)
            if known is None:
                device_problem = _device_name_problem(device)
                if device_problem:
                    named.append((doc.at((*path, side)), device_problem))
                    ok = False
                    continue
            name_problem = _interface_problem(known.platform if known is not None else None, interface)
            if name_problem:
                named.append((doc.at((*path, side)), name_problem))
                ok = False
                continue
            if named:
                continue  # only names are reported now
            end = Endpoint(device, interface)
            ends.append(end)
            if known is None:
                if known_hosts is not None and device not in known_hosts:
                    found.append((doc.at((*path, side)), f"link to unknown device {device!r}: it is not in the inventory"))
                ok = False
                continue
            declared = known.interfaces
            if declared is not None and interface not in declared:
                found.append((doc.at((*path, side)), f"{device} has no interface {interface!r} (known: {', '.join(declared)})"))
                ok = False
            first = used.get(text)
            if first is not None:
                found.append((doc.at((*path, side)), f"interface {end} is already used by link {first + 1}"))
                ok = False
            else:
                used[text] = index
        if named:
            continue
        if ends[0].device == ends[1].device:
            found.append((doc.at(path), f"link {ends[0]} -- {ends[1]} connects {ends[0].device} to itself"))
            ok = False
        bandwidth = bandwidths.get(raw["bandwidth"])
        if bandwidth is None:
            try:
                bandwidth = bandwidths[raw["bandwidth"]] = parse_bandwidth(raw["bandwidth"])
            except ValueError as exc:
                found.append((doc.at((*path, "bandwidth")), str(exc)))
                ok = False
        subnet = raw.get("subnet")
        if subnet is not None:
            try:
                net = ipaddress.IPv4Network(subnet)
                if net.prefixlen not in (30, 31):
                    raise ValueError
                subnet = str(net)
            except ValueError:
                found.append((doc.at((*path, "subnet")), f"invalid link subnet {subnet!r}: use an IPv4 /31 or /30"))
                ok = False
        if ok and bandwidth is not None:
            links.append(Link(len(links), ends[0], ends[1], bandwidth, raw.get("cost", 1), subnet))
    if named:
        problems += named
        return ()
    problems += found
    return tuple(links)
