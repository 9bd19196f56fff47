"""Ansible inventories as Ansible reads them: YAML or INI, with ``group_vars/`` and ``host_vars/``.

What a host's variables are follows Ansible's own precedence (``ansible-inventory --list`` is the
oracle of tests/test_ansible_inventory.py), low to high:

1. the inventory file's ``all`` vars, then its group vars, groups ordered by depth, then
   ``ansible_group_priority``, then name;
2. ``group_vars/all``, then ``group_vars/<group>`` in the same group order;
3. the inventory file's host vars, then ``host_vars/<host>``.

``group_vars/<name>`` and ``host_vars/<name>`` are files (no extension, ``.yml``, ``.yaml``, ``.json``)
or directories of such files, read in name order; the first form that exists wins, as in Ansible. INI inventories (``[group]``, ``[group:vars]``,
``[group:children]``, ``key=value`` parsed as Python literals where they are ones) and host ranges
(``leaf[01:04]``) work in both formats. ``{{ name }}`` references are resolved from the host's own
variables (``resolve``); what stays unresolved is reported by the loader where it matters.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from engine.errors import Location, ValidationError
from engine.platforms import known_platforms, platform_data
from engine.yamlsrc import JsonPath, SourceDoc, Unsafe, Vaulted, current_limits, load_yaml, read_text

VAR_EXTENSIONS = ("", ".yml", ".yaml", ".json")
_REFERENCE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_RANGE = re.compile(r"\[([0-9]+|[a-z]):([0-9]+|[a-z])(?::([0-9]+))?\]")
Problem = tuple[Location, str]
Merged = dict[str, tuple[JsonPath, Any]]


def boolean(value: Any) -> bool:
    """A variable as Ansible reads a boolean: ``yes``, ``on``, ``true``, ``y``, ``1`` (any case) or True."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("yes", "on", "true", "y", "1", "t")


class Unresolved(str):
    """A ``{{ name }}`` reference to a variable the inventory does not define (asked for at connect time)."""

    @property
    def variable(self) -> str:
        match = _REFERENCE.fullmatch(self.strip())
        return match.group(1) if match else ""


@dataclass
class Sources:
    """Every file an inventory is made of. A JsonPath ``("@", n, ...)`` points into ``docs[n]``;
    any other path into the inventory file itself (``docs[0]``)."""

    docs: list[SourceDoc] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return self.docs[0].path

    def at(self, json_path: JsonPath) -> Location:
        if json_path[:1] == ("@",):
            return self.docs[int(json_path[1])].at(json_path[2:])
        return self.docs[0].at(json_path)

    def at_key(self, json_path: JsonPath) -> Location:
        if json_path[:1] == ("@",):
            return self.docs[int(json_path[1])].at_key(json_path[2:])
        return self.docs[0].at_key(json_path)

    def add(self, doc: SourceDoc) -> JsonPath:
        self.docs.append(doc)
        return ("@", len(self.docs) - 1)


@dataclass
class Host:
    """A host of the inventory: its variables after group precedence, where it is named, its groups."""

    merged: Merged  # variable -> (where it was written, value), after precedence
    where: JsonPath  # where the host is first named
    groups: tuple[str, ...]  # every group it is in, "all" excluded


def expand(pattern: str) -> list[str]:
    """``leaf[01:03]`` -> leaf01, leaf02, leaf03 (Ansible's host ranges; letters too)."""
    match = _RANGE.search(pattern)
    if not match:
        return [pattern]
    low, high, step = match.group(1), match.group(2), int(match.group(3) or 1)
    head, tail = pattern[: match.start()], pattern[match.end():]
    if low.isdigit() and high.isdigit():
        width = len(low) if low.startswith("0") else 0
        values = [str(n).zfill(width) for n in range(int(low), int(high) + 1, step)]
    elif not low.isdigit() and not high.isdigit():
        values = [chr(c) for c in range(ord(low), ord(high) + 1, step)]
    else:
        return [pattern]
    return [name for value in values for name in expand(head + value + tail)]


def host_port(pattern: str) -> tuple[str, int | None]:
    """``sw1:2222`` -> (``sw1``, 2222), as Ansible's inventory plugins read a host with its port
    (``[2001:db8::1]:22`` too); a pattern without one (``sw[01:03]``, ``2001:db8::1``) -> (it, None)."""
    match = re.fullmatch(r"(.+):([0-9]+)", pattern)
    if match is None:
        return pattern, None
    head = match.group(1)
    if head.startswith("[") and head.endswith("]") and head.count(":") >= 2:
        return head[1:-1], int(match.group(2))  # an IPv6 address in brackets
    if ":" in re.sub(r"\[[^\]]*\]", "", head):
        return pattern, None  # a bare IPv6 address: its last group is no port
    return head, int(match.group(2))


def is_ini(text: str, suffix: str = "") -> bool:
    """True when Ansible would read the inventory with its INI plugin: an ``.ini`` (any name its YAML
    plugin does not take), a first line that is a ``[section]``, or hosts before any section
    (``oob-console.example.net``, ``sw1 ansible_host=192.0.2.1``: no ``key:`` line of YAML)."""
    if suffix.lower() not in ("", ".yml", ".yaml", ".json"):
        return True
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            return True
        return suffix == "" and not stripped.startswith(("---", "{", "%")) and \
            re.match(r"^[^\s=:]+(?::[0-9]+)?(?:\s+[^\s=]+=\S.*)?(?:\s+[#;].*)?$", stripped) is not None
    return False


def ini_value(text: str) -> Any:
    """A ``key=value`` value as Ansible's INI plugin reads it: a Python literal where it is one, else the text."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def parse_ini(path: Path, text: str) -> SourceDoc:
    """An INI inventory as the same structure a YAML one has (``all``/``children``/``hosts``/``vars``), with line marks."""
    groups: dict[str, dict[str, Any]] = {}
    positions: dict[JsonPath, tuple[int, int]] = {}
    problems: list[Problem] = []
    parents: dict[str, set[str]] = defaultdict(set)

    def group(name: str) -> dict[str, Any]:
        return groups.setdefault(name, {})

    section, kind = "ungrouped", "hosts"
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section, _, kind = line[1:-1].partition(":")
            kind = kind or "hosts"
            if kind not in ("hosts", "vars", "children"):
                problems.append((Location(str(path), number, 1), f"unknown INI section kind {kind!r} (hosts, vars, children)"))
            group(section)
            positions.setdefault((section,), (number, 1))
            continue
        if kind == "vars":
            key, sep, value = line.partition("=")
            if not sep:
                problems.append((Location(str(path), number, 1), f"expected key=value in [{section}:vars], got {line!r}"))
                continue
            group(section).setdefault("vars", {})[key.strip()] = ini_value(value.strip())
            positions[(section, "vars", key.strip())] = (number, raw.find(value.strip()) + 1)
        elif kind == "children":
            child = line.split()[0]
            group(child)
            parents[child].add(section)
            group(section).setdefault("children", {})[child] = None
        else:
            try:
                tokens = shlex.split(line, comments=True)
            except ValueError as exc:
                problems.append((Location(str(path), number, 1), f"cannot read the host line: {exc}"))
                continue
            if not tokens:
                continue
            variables: dict[str, Any] = {}
            for token in tokens[1:]:
                key, sep, value = token.partition("=")
                if not sep:
                    problems.append((Location(str(path), number, 1), f"expected key=value after the host name, got {token!r}"))
                    continue
                variables[key] = ini_value(value)
            pattern, port = host_port(tokens[0])
            if port is not None:  # the line's own ansible_port=, if any, wins (Ansible sets the port first)
                variables = {"ansible_port": port, **variables}
            for host in expand(pattern):
                hosts = group(section).setdefault("hosts", {})
                hosts[host] = {**(hosts.get(host) or {}), **variables} or None
                positions.setdefault((section, "hosts", host), (number, 1))
                for key in variables:
                    positions[(section, "hosts", host, key)] = (number, raw.find(f"{key}=") + 1)
    if problems:
        raise ValidationError(problems)
    # Nest as YAML would: groups without a parent sit under all.
    data: dict[str, Any] = {"all": {"children": {}}}
    data["all"].update({k: v for k, v in groups.pop("all", {}).items() if k != "children"})
    for name, body in groups.items():
        if not parents.get(name):
            data["all"]["children"][name] = body
    for body in groups.values():
        for child in list(body.get("children") or {}):
            body["children"][child] = groups[child]
    doc = SourceDoc(path, data, {})
    # Positions of every occurrence of a group's body, wherever the nesting puts it.
    for json_path, mark in _paths_of(data, groups, positions):
        doc.positions[json_path] = mark
        doc.key_positions[json_path] = mark
    return doc


def _paths_of(data: dict[str, Any], groups: dict[str, Any], marks: dict[JsonPath, tuple[int, int]]
              ) -> list[tuple[JsonPath, tuple[int, int]]]:
    out: list[tuple[JsonPath, tuple[int, int]]] = []

    def walk(name: str, body: dict[str, Any], path: JsonPath, seen: frozenset[str]) -> None:
        for mark_path, mark in marks.items():
            if mark_path[0] == name:
                out.append(((*path, *mark_path[1:]), mark))
        for child, child_body in (body.get("children") or {}).items():
            if child not in seen and isinstance(child_body, dict):
                walk(child, child_body, (*path, "children", child), seen | {child})

    walk("all", data["all"], ("all",), frozenset({"all"}))
    return out


def read(path: Path, display: str | None = None) -> SourceDoc:
    """The inventory file, YAML or INI (within the same limits as every YAML file)."""
    try:
        text = read_text(path, display or str(path), current_limits())
    except ValidationError:
        return load_yaml(path, display)  # reports the file as the YAML loader does
    if is_ini(text, (Path(display) if display else path).suffix):
        return parse_ini(Path(display) if display else path, text)
    return load_yaml(path, display)


def var_files(directory: Path, name: str) -> list[Path]:
    """``group_vars/<name>`` or ``host_vars/<name>``: the files Ansible's host_group_vars plugin reads.
    The first of ``<name>``, ``<name>.yml``, ``<name>.yaml``, ``<name>.json`` that exists wins (so a
    ``DC1/`` directory hides a ``DC1.yml`` beside it); a directory gives its files, depth first, in
    name order, hidden files and ``~`` backups skipped."""
    if not name or name.startswith(".") or any(c in name for c in "/\\\0\n"):
        return []  # a name that is no file name (the loader reports the name itself)
    for ext in VAR_EXTENSIONS:
        path = directory / (name + ext)
        if path.is_dir():
            return _dir_files(path)
        if path.is_file():
            return [path]
    return []


def _entry_names(directory: Path) -> set[str]:
    """The names in ``directory``, casefolded (a superset filter for ``var_files`` on any file system);
    empty when it is no readable directory."""
    try:
        return {entry.casefold() for entry in os.listdir(directory)}
    except OSError:
        return set()


def _dir_files(directory: Path) -> list[Path]:
    found: list[Path] = []
    for entry in sorted(directory.iterdir(), key=lambda p: p.name):
        if entry.name.startswith(".") or entry.name.endswith("~"):
            continue
        if entry.is_dir() and not entry.suffix:
            found += _dir_files(entry)
        elif entry.is_file() and entry.suffix in VAR_EXTENSIONS:
            found.append(entry)
    return found


def collect(doc: SourceDoc, problems: list[Problem]) -> tuple[Sources, dict[str, Host]]:
    """Every host with its variables after Ansible's precedence, and the files they came from."""
    sources = Sources([doc])
    if not isinstance(doc.data, dict):
        problems.append((doc.at(()), "the inventory must be an Ansible inventory (YAML with 'all', or INI)"))
        return sources, {}
    group_vars: dict[str, list[tuple[JsonPath, dict[str, Any]]]] = defaultdict(list)
    parents: dict[str, set[str]] = defaultdict(set)
    depth: dict[str, int] = {}
    host_groups: dict[str, set[str]] = defaultdict(set)
    host_vars: dict[str, list[tuple[JsonPath, dict[str, Any]]]] = defaultdict(list)
    first_seen: dict[str, JsonPath] = {}

    def walk(name: str, group: dict[str, Any] | None, path: JsonPath, level: int, parent: str | None) -> None:
        depth[name] = max(depth.get(name, 0), level)
        if parent:
            parents[name].add(parent)
        group = group if isinstance(group, dict) else {}
        if isinstance(group.get("vars"), dict):
            group_vars[name].append(((*path, "vars"), group["vars"]))
        hosts: dict[str, Any] = group["hosts"] if isinstance(group.get("hosts"), dict) else {}
        for pattern, hvars in hosts.items():
            bare, port = host_port(str(pattern))
            for host in expand(bare):
                host_groups[host].add(name)
                first_seen.setdefault(host, (*path, "hosts", pattern))
                if port is not None:  # `sw1:2222:` in YAML too; the host's own ansible_port wins
                    host_vars[host].append(((*path, "hosts", pattern), {"ansible_port": port}))
                if isinstance(hvars, dict):
                    host_vars[host].append(((*path, "hosts", pattern), hvars))
        children: dict[str, Any] = group["children"] if isinstance(group.get("children"), dict) else {}
        for child, body in children.items():
            walk(child, body, (*path, "children", child), level + 1, name)

    for top, body in doc.data.items():
        walk(top, body, (top,), 0 if top == "all" else 1, None if top == "all" else "all")
    for groups in host_groups.values():
        if groups == {"all"}:
            groups.add("ungrouped")  # Ansible's implicit group of hosts written directly under all
            depth.setdefault("ungrouped", 1)

    directory = doc.path.parent
    file_vars: dict[tuple[str, str], list[tuple[JsonPath, dict[str, Any]]]] = defaultdict(list)
    for kind, names in (("group_vars", {"all", *depth}), ("host_vars", set(host_groups))):
        present = _entry_names(directory / kind)
        for name in sorted(names):
            if not any((name + ext).casefold() in present for ext in VAR_EXTENSIONS):
                continue  # one listing instead of eight stat calls per host
            for path in var_files(directory / kind, name):
                try:
                    loaded = load_yaml(path, str(path))
                except ValidationError as exc:
                    problems.extend(exc.problems)
                    continue
                if loaded.data is None:
                    continue
                if not isinstance(loaded.data, dict):
                    problems.append((loaded.at(()), f"{kind}/{path.name} must be a mapping of variables"))
                    continue
                file_vars[(kind, name)].append((sources.add(loaded), loaded.data))

    def ancestors(group: str) -> set[str]:
        found, stack = set(), [group]
        while stack:
            current = stack.pop()
            for parent in parents.get(current, ()):
                if parent not in found:
                    found.add(parent)
                    stack.append(parent)
        return found

    def priority(group: str) -> int:
        value = next((v.get("ansible_group_priority") for _, v in reversed(group_vars.get(group, []))
                      if "ansible_group_priority" in v), 1)
        return value if isinstance(value, int) else 1

    # Hosts of the same groups share what the groups give them (a fabric's thousand hosts are in a few
    # groups): the groups in order and the variables they set, merged once per set of groups.
    from_groups: dict[frozenset[str], tuple[tuple[str, ...], Merged]] = {}
    hosts: dict[str, Host] = {}
    for host in sorted(host_groups):
        direct = frozenset(host_groups[host])
        shared = from_groups.get(direct)
        if shared is None:
            groups = set(direct)
            for group in direct:
                groups |= ancestors(group)
            ordered = sorted(groups - {"all"}, key=lambda g: (depth.get(g, 0), priority(g), g))
            layers: list[tuple[JsonPath, dict[str, Any]]] = list(group_vars.get("all", []))
            for group in ordered:
                layers += group_vars.get(group, [])
            layers += file_vars.get(("group_vars", "all"), [])
            for group in ordered:
                layers += file_vars.get(("group_vars", group), [])
            shared = from_groups[direct] = (tuple(ordered), _merge({}, layers))
        merged = _merge(dict(shared[1]), host_vars.get(host, []) + file_vars.get(("host_vars", host), []))
        merged.pop("ansible_group_priority", None)  # Ansible consumes it: no host variable
        hosts[host] = Host(merged, first_seen[host], shared[0])
    return sources, hosts


def _merge(merged: Merged, layers: list[tuple[JsonPath, dict[str, Any]]]) -> Merged:
    """``merged`` updated with each layer's variables in turn (a later layer wins), each with its path."""
    for layer_path, values in layers:
        merged.update({str(key): ((*layer_path, key), value) for key, value in values.items()})
    return merged


def resolve(host: str, merged: Merged) -> tuple[Merged, list[tuple[JsonPath, str]]]:
    """``merged`` with ``{{ name }}`` references replaced by the host's own variables (a whole-value
    reference keeps the referenced value's type and location, so a vaulted or plaintext secret is
    reported where it is written). A reference to an undefined variable stays, as ``Unresolved``
    when it is the whole value; the list says which (path, variable) stayed unresolved elsewhere."""
    if not any(isinstance(value, str) and "{{" in value for _, value in merged.values()):
        return dict(merged), []  # no reference in any value (the common case): what the walk gives
    return _resolved(host, merged)


def _resolved(host: str, merged: Merged) -> tuple[Merged, list[tuple[JsonPath, str]]]:
    """``resolve``'s walk: every value looked at for references."""
    scope: dict[str, tuple[JsonPath, Any]] = {**merged, "inventory_hostname": ((), host)}
    out: Merged = {}
    missing: list[tuple[JsonPath, str]] = []

    def value_of(path: JsonPath, value: Any, seen: frozenset[str]) -> tuple[JsonPath, Any]:
        if not isinstance(value, str) or isinstance(value, Vaulted | Unsafe) or "{{" not in value:
            return path, value
        whole = _REFERENCE.fullmatch(value.strip())
        if whole:
            name = whole.group(1)
            if name in seen or name not in scope:
                return path, Unresolved(value)
            found_path, found_value = scope[name]
            return value_of(found_path, found_value, seen | {name})

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in seen or name not in scope:
                missing.append((path, name))
                return match.group(0)
            found_path, found_value = scope[name]
            _, found = value_of(found_path, found_value, seen | {name})
            if isinstance(found, Vaulted | Unresolved) or not isinstance(found, str | int | float):
                missing.append((path, name))
                return match.group(0)
            return str(found)

        return path, _REFERENCE.sub(substitute, value)

    for key, (path, value) in merged.items():
        out[key] = value_of(path, value, frozenset({key}))
    return out, missing


# How ``ansible_connection`` (its collection prefix dropped: ``ansible.netcommon.network_cli`` is
# ``network_cli``) reaches a platform is data: ``ansible_connection:`` in templates/<platform>/platform.yaml
# maps each connection to the driver family that does the same (null: the platform's default driver).
# A connection a platform does not list is a combination no driver can serve.
@cache
def _connection_rows() -> dict[str, dict[str, str | None]]:
    return {known: dict(platform_data(known).get("ansible_connection") or {}) for known in known_platforms()}


def connection_driver(connection: str, platform: str) -> tuple[str | None, str | None]:
    """The driver family ``ansible_connection`` means for ``platform``, as (driver or None for the
    platform's default, None), or (None, why not) when it names no connection intent has or one that
    cannot reach the platform."""
    name = connection.strip().rsplit(".", 1)[-1]
    rows = _connection_rows()
    understood = sorted({each for row in rows.values() for each in row})
    if name not in understood:
        return None, (f"unsupported ansible_connection {connection!r} (understood: {', '.join(understood)}, "
                      "with or without their collection, e.g. ansible.netcommon.network_cli)")
    row = rows.get(platform, {})
    if name not in row:
        reach = ", ".join(sorted(known for known, other in rows.items() if name in other)) or "none"
        return None, (f"ansible_connection {connection!r} cannot reach platform {platform} (it reaches: {reach}); "
                      f"use one of {', '.join(sorted(row))}, or name the driver with driver:")
    driver = row[name]
    return (None if driver is None else str(driver)), None
