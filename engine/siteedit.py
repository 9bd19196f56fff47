"""Add one intent to a site file: appended after the last intent, every other byte left as it was.

``propose`` reads a sentence, names the intent (unique in the site), writes it after the last item
of ``intents:`` in the file's own indentation and line endings, and loads and compiles the site as
it would be (schema, references, admission): nothing is written until ``Addition.write``.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from engine.compiler import Compilation, compile_site
from engine.errors import IntentError, Location, ValidationError
from engine.frozen import frozen
from engine.loader import load_site
from engine.model import Site
from engine.plan import Plan, RunningSource, RunningState, make_plan
from engine.words import Reading, read


@frozen
class Insertion:
    """The file with the intent added: ``text[:offset]`` is the original's first ``offset`` characters."""

    text: str
    offset: int
    item: str


def append_intent(original: str, intent: dict[str, Any], display: str = "site file") -> Insertion:
    """``original`` with ``intent`` as a new last item of its ``intents:`` block list."""
    newline = "\r\n" if "\r\n" in original else "\n"
    try:
        root = yaml.compose(original, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise IntentError(f"{display}: not valid YAML ({exc})") from None
    if not isinstance(root, yaml.MappingNode):
        raise IntentError(f"{display}: the site file must be a mapping with site, inventory, topology, intents")
    intents = next((value for key, value in root.value if isinstance(key, yaml.ScalarNode) and key.value == "intents"),
                   None)
    lines = original.splitlines(keepends=True)
    if intents is None or (isinstance(intents, yaml.ScalarNode) and intents.value in ("", "~", "null")):
        indent, dash, step = "  ", "- ", "  "
        if intents is None:
            head = ("" if not original or original.endswith(("\n", "\r")) else newline) + "intents:" + newline
            offset = len(original)
            item = head + _render(intent, indent, dash, step, newline)
            return Insertion(original + item, offset, item)
        offset = _line_end(original, intents.end_mark.index)
    elif isinstance(intents, yaml.SequenceNode) and not intents.flow_style and intents.value:
        first, last = intents.value[0], intents.value[-1]
        line = lines[first.start_mark.line]
        dash_col = line.rfind("-", 0, first.start_mark.column)
        if dash_col < 0 or line[:dash_col].strip():
            raise IntentError(f"{display}: cannot tell the indentation of the intents list")
        indent, dash = line[:dash_col], line[dash_col:first.start_mark.column]
        step = _step(last)
        offset = _line_end(original, _leaf(last).end_mark.index)
    else:
        raise IntentError(f"{display}: intents is not a block list ('- name: ...' items); intent add appends to one")
    prefix = "" if offset == 0 or original[offset - 1] in "\r\n" else newline
    item = prefix + _render(intent, indent, dash, step, newline)
    text = original[:offset] + item + original[offset:]
    if yaml.safe_load(text)["intents"][-1] != intent:  # the written item must read back as the intent
        raise IntentError(f"{display}: could not append the intent without changing its meaning")
    return Insertion(text, offset, item)


def _leaf(node: yaml.Node) -> yaml.Node:
    """The last value written inside a block node (its end is the item's last character)."""
    while isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and not node.flow_style and node.value:
        node = node.value[-1][1] if isinstance(node, yaml.MappingNode) else node.value[-1]
    return node


def _line_end(text: str, index: int) -> int:
    if index > 0 and text[index - 1] == "\n":
        return index
    end = text.find("\n", index)
    return len(text) if end < 0 else end + 1


def _step(item: yaml.Node) -> str:
    """How far this file indents a kind's body under its key (two spaces unless it shows otherwise)."""
    if isinstance(item, yaml.MappingNode):
        for key, value in item.value:
            if isinstance(value, yaml.MappingNode) and not value.flow_style and value.value:
                width: int = value.value[0][0].start_mark.column - key.start_mark.column
                return " " * max(1, width)
    return "  "


def _render(intent: dict[str, Any], indent: str, dash: str, step: str, newline: str) -> str:
    pad = indent + " " * len(dash)
    (name_key, name), (kind, body) = list(intent.items())
    out = [f"{indent}{dash}{_pair(name_key, name)}", f"{pad}{kind}:"]
    out += [f"{pad}{step}{_pair(key, value)}" for key, value in body.items()]
    return newline.join(out) + newline


def _pair(key: str, value: Any) -> str:
    if isinstance(value, (list, dict)):
        flow: str = yaml.safe_dump(value, default_flow_style=True, width=10**6, sort_keys=False)
        return f"{key}: {flow.strip()}"
    block: str = yaml.safe_dump({key: value}, default_flow_style=False, width=10**6)
    return block.rstrip("\n")


def render_intent(intent: dict[str, Any]) -> str:
    """One intent as a YAML mapping, in the style ``intent add`` writes it."""
    return _render(intent, "", "", "  ", "\n")


def standalone(sentence: str) -> dict[str, Any]:
    """The intent ``sentence`` means, checked against its kind's JSON Schema (no site to check it against)."""
    import jsonschema

    from intents.registry import Registry

    reading = read(sentence)
    kinds = Registry().kinds
    if reading.kind not in kinds:
        raise IntentError(f"the sentence reads as a {reading.kind} intent, but no such kind is installed")
    validator = jsonschema.Draft202012Validator(kinds[reading.kind].schema)
    problems = [(Location("<sentence>", 1, 1, (reading.kind, *error.absolute_path)), f"{reading.kind}: {error.message}")
                for error in validator.iter_errors(reading.body)]
    if problems:
        raise ValidationError(problems)
    return reading.intent()


def _moved(where: Location, message: str, temporary: str, site_path: Path, added_from: int | None) -> tuple[Location, str]:
    if where.file != temporary:
        return where, message
    note = " (in the intent being added)" if added_from is not None and where.line >= added_from else ""
    return Location(str(site_path), where.line, where.col, where.json_path), message + note


def load_text(site_path: Path, text: str, added_from: int | None = None, *,
              allow_plaintext_secrets: bool = False) -> tuple[Site, Compilation]:
    """Load and compile the site as ``text`` would make it, from a hidden file beside the real one
    (so its relative paths hold); errors name the real file, and say so from line ``added_from`` on."""
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{site_path.name}.", suffix=".proposed", dir=site_path.parent)
    except OSError as exc:
        raise IntentError(f"{site_path}: cannot stage the change beside it: {exc}") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        try:
            site = load_site(temporary, allow_plaintext_secrets=allow_plaintext_secrets)
        except ValidationError as exc:
            raise ValidationError([_moved(where, message, temporary, site_path, added_from)
                                   for where, message in exc.problems]) from None
        files = tuple(str(site_path) if f == temporary else f for f in site.files)
        locations = {name: str(site_path) + where[len(temporary):] if where.startswith(temporary) else where
                     for name, where in site.locations.items()}
        site = replace(site, path=str(site_path), files=files, locations=locations)
        return site, compile_site(site)
    finally:
        os.unlink(temporary)


@frozen
class Addition:
    """A sentence made into an intent of a site, checked against the whole site, not yet written."""

    site_path: Path
    reading: Reading
    intent: dict[str, Any]
    original: str
    insertion: Insertion
    site: Site  # the site with the intent
    compilation: Compilation
    before: Compilation  # the site as it is

    def write(self) -> None:
        """Write the file (atomically, same permissions), unless it changed since it was read."""
        if _read(self.site_path) != self.original:
            raise IntentError(f"{self.site_path} changed while the intent was being added; run it again")
        handle, temporary = tempfile.mkstemp(prefix=f".{self.site_path.name}.", dir=self.site_path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
                out.write(self.insertion.text)
            os.chmod(temporary, self.site_path.stat().st_mode & 0o7777)
            os.replace(temporary, self.site_path)
        except BaseException:
            os.unlink(temporary)
            raise

    def plan(self, running: str | os.PathLike[str] | None = None) -> Plan:
        """What the change does: against saved running state in ``running``, else against the site
        as it is (the diff then is exactly what the new intent adds)."""
        source: RunningSource = RunningState(Path(running)) if running is not None else _Desired(self.before)
        return make_plan(self.site, self.compilation, source)


@dataclass
class _Desired:
    """The configuration the site compiles to now, read as if it were each device's running state."""

    compilation: Compilation
    directory: str = "the site without this intent"

    def read(self, device: str, platform: str) -> str | None:
        config = self.compilation.configs.get(device)
        if config is None:
            return None
        return json.dumps(config.document) if config.document is not None else config.text


def propose(site_path: str | os.PathLike[str], sentence: str, name: str | None = None, *,
            allow_plaintext_secrets: bool = False) -> Addition:
    """Read ``sentence`` and stage it as a new intent of the site at ``site_path`` (nothing is written)."""
    path = Path(site_path)
    current = load_site(path, allow_plaintext_secrets=allow_plaintext_secrets)
    before = compile_site(current)
    reading = read(sentence)
    taken = {intent.name for intent in current.intents}
    if name is not None and name in taken:
        raise IntentError(f"{path}: the site already has an intent named {name!r}")
    intent = reading.intent(name or reading.unique_name(taken))
    original = _read(path)
    insertion = append_intent(original, intent, str(path))
    added_from = insertion.text[:insertion.offset].count("\n") + 1 + insertion.item.startswith(("\n", "\r"))
    site, compilation = load_text(path, insertion.text, added_from, allow_plaintext_secrets=allow_plaintext_secrets)
    return Addition(path, reading, intent, original, insertion, site, compilation, before)


def _read(path: Path) -> str:
    """The file's text exactly, line endings included."""
    with path.open(encoding="utf-8", newline="") as handle:
        return handle.read()
