"""What the installed distributions declare: their entry points (read once while what is installed
stays the same), and their versions.

``importlib.metadata.entry_points`` reads the ``entry_points.txt`` of every distribution on
``sys.path`` each time it is asked (about 90 in the project's virtualenv, 5 ms), and one ``intent plan``
asks four times: intent kinds for loading, compiling and planning, drivers for the inventory. The
answer is kept for as long as ``sys.path`` and the modification time of each of its directories are
what they were (installing or removing a distribution adds or removes a directory in one of them).

Where ``sys.path`` is only directories (every virtualenv), the same files are read here as
importlib.metadata reads them, in the same order, and the same entry points and versions found:
importing importlib.metadata (email, zipfile, csv) and asking each distribution its name (its
METADATA, through the email parser) is 20 ms of every run that loads no plugin. A distribution's name
is read when it is asked for (a refusal names it), and importlib.metadata loads what an entry point
names. Anything else (a zip file or an egg on ``sys.path``, a finder of distributions other than
Python's own, a name whose suffix is not in lowercase, a METADATA whose Version is not a plain line)
is left to importlib.metadata itself. tests/test_entrypoints.py compares the two.
"""

from __future__ import annotations

import importlib.machinery
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from importlib import metadata


class EntryPoint(Protocol):
    """What the registries read of an entry point: ``importlib.metadata.EntryPoint``, or ``Listed``."""

    @property
    def name(self) -> str: ...

    @property
    def value(self) -> str: ...

    @property
    def group(self) -> str: ...

    @property
    def dist(self) -> metadata.Distribution | None: ...

    def load(self) -> Any: ...


class Listed:
    """An entry point read from the ``entry_points.txt`` in ``metadata_dir`` (a ``*.dist-info`` or
    ``*.egg-info`` directory), as ``importlib.metadata.EntryPoint`` gives it."""

    def __init__(self, name: str, value: str, group: str, metadata_dir: Path) -> None:
        self.name, self.value, self.group = name, value, group
        self.metadata_dir = metadata_dir

    def __repr__(self) -> str:
        return f"Listed(name={self.name!r}, value={self.value!r}, group={self.group!r})"

    @cached_property
    def dist(self) -> metadata.Distribution:
        from importlib import metadata

        return metadata.PathDistribution(self.metadata_dir)

    def load(self) -> Any:
        """What the entry point names, imported (``importlib.metadata.EntryPoint.load``)."""
        from importlib import metadata

        return metadata.EntryPoint(self.name, self.value, self.group).load()


# (sys.path with each directory's mtime, group -> its entry points as read then)
_read: tuple[tuple[tuple[str, int | None], ...], Callable[[str], Sequence[EntryPoint]]] | None = None


def entry_points(group: str) -> Sequence[EntryPoint]:
    """``importlib.metadata.entry_points(group=group)``, from one reading of every distribution."""
    global _read
    installed = tuple((entry, _mtime(entry)) for entry in sys.path)
    if _read is None or _read[0] != installed:
        _read = (installed, _listed() or _from_importlib())
    return _read[1](group)


def source(entry: EntryPoint | str) -> str:
    """``drivers.linux:PLUGIN (intent-engine)``: what an entry point names and the distribution that has it
    (a source already said in words, a plugin added in code, is itself)."""
    if isinstance(entry, str):
        return entry
    return f"{entry.value} ({entry.dist.name if entry.dist else 'unknown distribution'})"


def _mtime(entry: str) -> int | None:
    try:
        return os.stat(entry or ".").st_mtime_ns
    except (OSError, ValueError):  # not there (a zip that is not), or not a path at all
        return None


def _from_importlib() -> Callable[[str], Sequence[EntryPoint]]:
    from importlib import metadata

    select = metadata.entry_points().select  # all groups (3.11: SelectableGroups)
    return lambda group: select(group=group)


class _Unusual(Exception):
    """Something importlib.metadata reads its own way: it is asked instead."""


def version(name: str) -> str | None:
    """``importlib.metadata.version(name)``; None when no distribution of that name is installed."""
    found = _listed_version(name)
    if found is not None:
        return found
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _only_python_finds_distributions() -> bool:
    """importlib.metadata looks for distributions only where Python's own path finder does: on sys.path."""
    finders = [finder for finder in sys.meta_path if getattr(finder, "find_distributions", None) is not None]
    return finders == [importlib.machinery.PathFinder]


def _listed() -> Callable[[str], Sequence[EntryPoint]] | None:
    """group -> its entry points of the distributions on ``sys.path``, in importlib.metadata's order;
    None when importlib.metadata would look elsewhere or read something differently than this does."""
    if not _only_python_finds_distributions():
        return None
    groups: dict[str, list[EntryPoint]] = {}
    try:
        for metadata_dir in _unique(_metadata_dirs()):
            for entry in _read_entry_points(metadata_dir):
                groups.setdefault(entry.group, []).append(entry)
    except _Unusual:
        return None
    found = {group: tuple(entries) for group, entries in groups.items()}
    return lambda group: found.get(group, ())


_SEPARATORS = re.compile(r"[-_.]+")


def _normalized(name: str) -> str:
    """importlib.metadata's ``Prepared.normalize``: PEP 503, dashes as underscores."""
    return _SEPARATORS.sub("-", name).lower().replace("-", "_")


def _metadata_dirs() -> Iterator[tuple[str, Path]]:
    """(normalized name, metadata directory) of every distribution on ``sys.path``, in the order
    importlib.metadata's ``MetadataPathFinder`` finds them: by path entry, then by name in the order
    the directory lists them first."""
    for root in sys.path:
        if not isinstance(root, str) or os.path.basename(root).lower().endswith(".egg"):
            raise _Unusual(root)
        try:
            children = os.listdir(root or ".")
        except FileNotFoundError:
            continue  # importlib.metadata finds nothing there either
        except OSError as exc:  # a zip file, a directory it may not list: importlib.metadata's own way
            raise _Unusual(root) from exc
        by_name: dict[str, list[Path]] = {}
        for child in children:
            stem, dot, suffix = child.rpartition(".")
            if suffix.lower() not in ("dist-info", "egg-info"):
                continue
            name = stem.partition("-")[0]
            if suffix not in ("dist-info", "egg-info") or not name or not stem.strip("."):
                raise _Unusual(child)  # importlib.metadata then tells it apart by the Name of its METADATA
            by_name.setdefault(_normalized(name), []).append(Path(root, child))
        for name, paths in by_name.items():
            for path in paths:
                yield name, path


def _unique(found: Iterator[tuple[str, Path]]) -> Iterator[Path]:
    """The first distribution of each name, as ``importlib.metadata.entry_points`` keeps."""
    seen: set[str] = set()
    for name, path in found:
        if name not in seen:
            seen.add(name)
            yield path


def _read_entry_points(metadata_dir: Path) -> list[EntryPoint]:
    """The entry points of ``metadata_dir/entry_points.txt`` (none without one), as importlib.metadata's
    ``Sectioned`` reads the file."""
    try:
        text = (metadata_dir / "entry_points.txt").read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError):
        return []
    except (OSError, ValueError) as exc:
        raise _Unusual(metadata_dir) from exc
    found: list[EntryPoint] = []
    group = None
    for line in (line.strip() for line in text.splitlines()):
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line.strip("[]")
            continue
        if group is None:
            continue
        name, equals, value = line.partition("=")
        if not equals:
            raise _Unusual(metadata_dir)  # importlib.metadata's error, not one of this reading
        found.append(Listed(name.strip(), value.strip(), group, metadata_dir))
    return found


_HEADER_NAME = re.compile(r"[!-9;-~]+")  # what the email parser takes for a header's name


def _listed_version(name: str) -> str | None:
    """The Version of the METADATA importlib.metadata would read for ``name``, when it is a plain
    ``Version: 1.2`` line of the headers; None for anything else (importlib.metadata is asked)."""
    if not name or not _only_python_finds_distributions():
        return None
    wanted = _normalized(name)
    try:
        metadata_dir = next((path for found, path in _metadata_dirs() if found == wanted), None)
    except _Unusual:
        return None
    if metadata_dir is None:
        return None
    try:
        lines = (metadata_dir / "METADATA").read_text(encoding="utf-8").split("\n")
    except (OSError, ValueError):
        return None
    for index, line in enumerate(lines):
        if not line:
            return None  # the end of the headers (or an empty METADATA, when PKG-INFO is read)
        if line[0] in " \t":
            continue  # the folded rest of another header
        header, colon, value = line.partition(":")
        if not colon or not _HEADER_NAME.fullmatch(header):
            return None
        if header.lower() == "version":
            folded = index + 1 < len(lines) and lines[index + 1][:1] in (" ", "\t")
            return None if folded else value.lstrip(" \t")
    return None
