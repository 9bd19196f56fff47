"""Safe YAML loading that remembers where every node came from.

Validation errors must point at ``FILE:LINE:COL``. PyYAML's safe composer gives us a node tree with
marks; we build plain Python data from it (same types as ``yaml.safe_load``) and keep a side table
from JSON path to position, so later stages can say where a value was written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine.errors import Location, ValidationError

JsonPath = tuple[str | int, ...]


@dataclass
class SourceDoc:
    """A loaded YAML document: its data and where each path of it was written."""

    path: Path
    data: Any
    positions: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)

    def at(self, json_path: JsonPath) -> Location:
        """The location of ``json_path``, or of its nearest written ancestor."""
        probe = tuple(json_path)
        while probe and probe not in self.positions:
            probe = probe[:-1]
        line, col = self.positions.get(probe, (1, 1))
        return Location(str(self.path), line, col, tuple(json_path))

    def at_key(self, json_path: JsonPath) -> Location:
        """The location of the key that introduces ``json_path`` (for "unknown key" errors)."""
        if json_path in self.key_positions:
            line, col = self.key_positions[json_path]
            return Location(str(self.path), line, col, tuple(json_path))
        return self.at(json_path)


class Vaulted(str):
    """An ansible-vault encrypted value: kept opaque, never decrypted, never shown."""

    def __repr__(self) -> str:
        return "Vaulted(<encrypted>)"


class _Loader(yaml.SafeLoader):
    """SafeLoader: only plain YAML types, never Python objects (plus opaque ``!vault`` values)."""


_Loader.add_constructor("!vault", lambda loader, node: Vaulted(loader.construct_scalar(node)))  # type: ignore[arg-type]


def load_yaml(path: Path, display: str | None = None) -> SourceDoc:
    """Load one YAML file safely, keeping a position for every node.

    Duplicate mapping keys are an error (PyYAML silently keeps the last one).
    """
    shown = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValidationError([(Location(shown, 1, 1, ()), "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError([(Location(shown, 1, 1, ()), f"cannot read file: {exc}")]) from None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or str(exc)
        raise ValidationError([(Location(shown, line, col, ()), f"invalid YAML: {problem}")]) from None
    except yaml.YAMLError as exc:
        raise ValidationError([(Location(shown, 1, 1, ()), f"invalid YAML: {exc}")]) from None
    finally:
        loader.dispose()
    doc = SourceDoc(Path(shown), None)
    if node is None:
        return doc
    errors: list[tuple[Location, str]] = []
    doc.data = _build(loader, node, (), doc, errors)
    if errors:
        raise ValidationError(errors)
    return doc


_PLAIN_TAGS = {
    f"tag:yaml.org,2002:{name}" for name in ("map", "seq", "str", "int", "float", "bool", "null", "timestamp", "merge")
} | {"!vault"}


def _build(
    loader: _Loader,
    node: yaml.Node,
    json_path: JsonPath,
    doc: SourceDoc,
    errors: list[tuple[Location, str]],
) -> Any:
    where = (node.start_mark.line + 1, node.start_mark.column + 1)
    doc.positions[json_path] = where
    if node.tag not in _PLAIN_TAGS:
        errors.append((Location(str(doc.path), *where, json_path), f"unsupported YAML tag {node.tag!r}: only plain YAML is read"))
        return None
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, bool)) or key is None:
                key = str(key)
            if key in result:
                duplicate = Location(str(doc.path), key_node.start_mark.line + 1, key_node.start_mark.column + 1, json_path)
                errors.append((duplicate, f"duplicate key {key!r}"))
                continue
            doc.key_positions[(*json_path, str(key))] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = _build(loader, value_node, (*json_path, str(key)), doc, errors)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, (*json_path, index), doc, errors) for index, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)
