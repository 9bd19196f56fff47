"""``engine.entrypoints`` finds what importlib.metadata finds: the same entry points, in the same order,
from the same distributions, and the same versions.

It reads the usual ``sys.path`` of directories itself (importing importlib.metadata is 20 ms of every
run) and leaves anything else to importlib.metadata. Here both read the project's own environment,
and directories of distributions generated to be awkward (names in every case and separator,
distributions of one name twice, entry_points.txt with comments, blank lines, text before any group,
lines importlib.metadata cannot read, METADATA with folded or missing versions), and must agree,
errors included.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import entrypoints


def _importlib_entry_points(group: str) -> list[tuple[str, str, str, str]] | str:
    try:
        return [(e.name, e.value, e.group, e.dist.name if e.dist else "") for e in metadata.entry_points(group=group)]
    except Exception as exc:  # noqa: BLE001 - the error itself is compared
        return type(exc).__name__


def _engine_entry_points(group: str) -> list[tuple[str, str, str, str]] | str:
    try:
        return [(e.name, e.value, e.group, e.dist.name if e.dist else "") for e in entrypoints.entry_points(group)]
    except Exception as exc:  # noqa: BLE001 - the error itself is compared
        return type(exc).__name__


def _outcome(function: Any, *args: Any) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # importlib.metadata's, for a missing Version
        try:
            return function(*args)
        except Exception as exc:  # noqa: BLE001 - the error itself is compared
            return type(exc).__name__


def test_the_environment_reads_alike() -> None:
    """Every group of every distribution installed here, and the version of each: the fast reading
    is the one taken here, and gives what importlib.metadata gives."""
    assert entrypoints._listed() is not None
    groups = {entry.group for dist in metadata.distributions() for entry in dist.entry_points}
    assert {"intent_engine.drivers", "console_scripts"} <= groups
    for group in sorted(groups | {"intent_engine.kinds", "no.such.group"}):
        assert _engine_entry_points(group) == _importlib_entry_points(group), group
    names = {dist.metadata["Name"] for dist in metadata.distributions()}
    assert entrypoints._listed_version("jinja2") == metadata.version("jinja2")
    for name in sorted(names | {"no-such-distribution", "JINJA2", "hier.config"}):
        assert _outcome(entrypoints.version, name) == _outcome(_importlib_version, name), name


def _importlib_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


_NAME = st.from_regex(r"[aAbB][aAbB_.-]{0,3}", fullmatch=True)
_ODD_NAME = _NAME | st.sampled_from(["", ".", "..", "-a", "_"])  # importlib.metadata reads their METADATA's Name
_VERSION = st.sampled_from(["", "-1.0", "-2", "--x"])
_DIRECTORY = st.tuples(_NAME, _VERSION, st.sampled_from([".dist-info", ".egg-info"]))
_ODD_DIRECTORY = st.tuples(_ODD_NAME, _VERSION, st.sampled_from([".dist-info", ".egg-info", ".DIST-INFO", ".Egg-Info",
                                                                ".txt"]))
_LINE = st.sampled_from(["[g]", "[h]", "a = m:x", "  b=m.n:y [extra]  ", "c = m", "a = other:z", "\tf\t=\tm:f"] * 4
                        + ["[ g ]", "[]", "[[g]]", "", "   ", "# [h]", "#x = y", "; x = y", "= v", "d =",
                           "e = m:x # trailing", "no equals sign"])
_METADATA = st.sampled_from(["Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"] * 4 + [
    "Name: {name}\nversion:\t2.0 \nVersion: 3\n",
    "License: a\n  folded\nName: {name}\nVERSION:3.1\n",
    "Name: {name}\nVersion: 1.0\n folded\n",
    "Name: {name}\n\nVersion: 4\n",
    "Name: {name}\nSummary\nVersion: 5\n",
    "\ufeffVersion: 6\n",
    "Name: {name}\n",
    "",
])
_DISTRIBUTION = st.tuples(_DIRECTORY, st.none() | st.lists(_LINE, max_size=8), _METADATA, st.booleans())
_ODD_DISTRIBUTION = st.tuples(_ODD_DIRECTORY, st.none() | st.lists(_LINE, max_size=8), _METADATA, st.booleans())


def _write(root: Path, distributions: list[tuple[Any, ...]]) -> list[str]:
    names = []
    for (name, version, suffix), lines, metadata_text, pkg_info in distributions:
        directory = root / f"{name}{version}{suffix}"
        if directory.exists():
            continue
        directory.mkdir(parents=True)
        (directory / "METADATA").write_text(metadata_text.format(name=name or "x"), encoding="utf-8")
        if pkg_info:
            (directory / "PKG-INFO").write_text(f"Name: {name}\nVersion: 9\n", encoding="utf-8")
        if lines is not None:
            (directory / "entry_points.txt").write_text("\n".join(lines), encoding="utf-8")
        names.append(name)
    return names


def _read_alike(root: Path, paths: list[list[tuple[Any, ...]]]) -> tuple[bool, bool]:
    """Every group's entry points and every name's version read alike; (whether the reading here was
    the one taken, whether importlib.metadata refuses the entry points)."""
    saved = sys.path[:]
    try:
        names: set[str] = set()
        for index, distributions in enumerate(paths):
            (root / str(index)).mkdir()
            names.update(_write(root / str(index), distributions))
        sys.path[:] = [*(str(root / str(index)) for index in range(len(paths))), str(root / "missing")]
        for group in ("g", "h", " g ", "", "[g]"):
            assert _engine_entry_points(group) == _importlib_entry_points(group), group
        for name in sorted(names | {"a", "A-a", "b"}):
            assert _outcome(entrypoints.version, name) == _outcome(_importlib_version, name), name
        return entrypoints._listed() is not None, isinstance(_importlib_entry_points("g"), str)
    finally:
        sys.path[:] = saved
        shutil.rmtree(root)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(_DISTRIBUTION, max_size=5), min_size=1, max_size=3))
def test_generated_distributions_read_alike(paths: list[list[tuple[Any, ...]]]) -> None:
    """Distributions on one to three directories of sys.path (and one that is not there): each
    group's entry points, and each name's version, as importlib.metadata reads them; read here unless
    an entry_points.txt has a line importlib.metadata refuses."""
    read_here, refused = _read_alike(Path(tempfile.mkdtemp(prefix="entrypoints-")), paths)
    assert read_here != refused


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(_ODD_DISTRIBUTION, max_size=5), min_size=1, max_size=3))
def test_odd_distribution_names_read_alike(paths: list[list[tuple[Any, ...]]]) -> None:
    """Names importlib.metadata tells apart by their METADATA (an empty name, a suffix not in
    lowercase), beside plain ones: left to importlib.metadata, the same entry points either way."""
    _read_alike(Path(tempfile.mkdtemp(prefix="entrypoints-")), paths)


def test_what_is_read_here_and_what_is_left_to_importlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The generated cases reach both readings: plain directories are read here, an egg, a zip file,
    a suffix not in lowercase, an unreadable entry_points.txt and another finder of distributions are
    left to importlib.metadata."""
    plain = tmp_path / "plain"
    _write(plain, [(("acme", "-1.0", ".dist-info"), ["[g]", "a = m:x"], "Name: acme\nVersion: 1.0\n", False)])
    monkeypatch.setattr(sys, "path", [str(plain)])
    assert entrypoints._listed() is not None and entrypoints._listed_version("acme") == "1.0"
    (plain / "Upper.DIST-INFO").mkdir()
    assert entrypoints._listed() is None
    (plain / "Upper.DIST-INFO").rmdir()
    (tmp_path / "old.egg" / "EGG-INFO").mkdir(parents=True)
    monkeypatch.setattr(sys, "path", [str(plain), str(tmp_path / "old.egg")])
    assert entrypoints._listed() is None
    (plain / "lib.zip").write_bytes(b"")
    monkeypatch.setattr(sys, "path", [str(plain), str(plain / "lib.zip")])
    assert entrypoints._listed() is None
    monkeypatch.setattr(sys, "path", [str(plain)])
    (plain / "acme-1.0.dist-info" / "entry_points.txt").write_text("[g]\nno equals sign\n")
    assert entrypoints._listed() is None

    class Finder:
        @staticmethod
        def find_distributions(context: Any = None) -> list[Any]:
            return []

    monkeypatch.setattr(sys, "meta_path", [*sys.meta_path, Finder])
    assert entrypoints._listed() is None and entrypoints._listed_version("acme") is None


def test_an_entry_point_read_here_loads_and_names_its_distribution(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """What the registries ask of an entry point: ``load()`` imports what it names (importlib.metadata's
    own loading), ``dist.name`` is the Name of its METADATA."""
    _write(tmp_path, [(("acme_tools", "-1.0", ".dist-info"), ["[intent_engine.test]", "join = os.path:join"],
                       "Name: Acme-Tools\nVersion: 1.0\n", False)])
    monkeypatch.syspath_prepend(str(tmp_path))
    (entry,) = entrypoints.entry_points("intent_engine.test")
    assert isinstance(entry, entrypoints.Listed)
    assert (entry.name, entry.value, entry.group) == ("join", "os.path:join", "intent_engine.test")
    assert entry.load() is __import__("os").path.join
    assert entrypoints.source(entry) == "os.path:join (Acme-Tools)"
