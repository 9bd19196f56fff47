"""``LaterLoad``, the topology parsed in a forked child while the loader reads the site and inventory
(and ``prefetch``, the site file parsed in one while the CLI imports the loader), against ``load_yaml``
in this process: the same data (types included), the same position for every
path (the child sends data alone; the node tree is composed here when a position is asked for), the
same refusals; and whole sites, valid ones and the hostile corpus, load to the same site or the same
error lines either way. The inputs are the repository's files and corpus, the hostile-input tests'
texts and generated documents, none made by the code under test."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import parallel, yamlsrc
from engine.errors import ValidationError
from engine.loader import load_site
from engine.yamlsrc import LaterLoad, Limits, SourceDoc, load_yaml, set_limits
from tests.hostile import make_corpus

REPO = Path(__file__).resolve().parent.parent
CORPUS = make_corpus.CORPUS
CASES = sorted(path.name for path in CORPUS.iterdir() if path.is_dir())


@pytest.fixture
def forking(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file forked for, however small, whatever the machine's load."""
    monkeypatch.setattr(yamlsrc, "FORK_BYTES", 0)
    monkeypatch.setattr(yamlsrc, "_may_fork", lambda: True)


def _paths(data: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found = [path]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*path, index))
    return found


def _types(data: Any) -> Any:
    if isinstance(data, dict):
        return {key: _types(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_types(value) for value in data]
    return type(data)


def outcome(doc_of: Any, path: Path) -> tuple[Any, ...]:
    """What a load of ``path`` gives: its data, their types, and every path's positions; or its refusal."""
    try:
        doc: SourceDoc = doc_of(path)
    except ValidationError as exc:
        return ("refused", exc.lines())
    paths = _paths(doc.data)
    return ("data", repr(doc.data), _types(doc.data), doc.whole_floats,
            [(str(doc.at(p)), str(doc.at_key(p))) for p in paths],
            [doc.item_locations(p, 3) for p in paths],
            str(doc.at(("no", "such", "path"))))


def later(path: Path) -> SourceDoc:
    load = LaterLoad(path, str(path))
    try:
        if load.refused is None:
            assert load.child is not None, "no child was forked"
        return load.result()
    finally:
        load.close()


HOSTILE_TEXTS = [
    "", "~\n", "\n\n  null\n", "a: 1\n", "- 1\n- 10.0\n- 2001-02-03\n- yes\n- 0o17\n", "'quoted': \"x\"\n",
    "a: 1\na: 2\n", "1234: x\n", "yes: x\n", "? [a]\n: b\n", "a: !!python/object:os.system x\n",
    "a: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\n", "a: !unsafe '{{ x }}'\n", "a: !!int ''\n",
    "a: !!timestamp 2001-13-40\n", "a: &x [1, 2]\nb: *x\nc: *x\n", "base: &b {k: 1}\nuse: {<<: *b, j: 2}\n",
    "use: {<<: 1}\n", "a: &a [*a]\n", "[" * 150 + "]" * 150, "{a: " * 120 + "1" + "}" * 120,
    "".join(" " * i + "a:\n" for i in range(120)) + " " * 120 + "b\n", "a: [1, 2\n", "a: b: c\n", "\tx: 1\n",
    "a: \x07\n", "key: 'it''s'\n", "a: 1e400\n", "a: 99999999999999999999999999\n", "a: .nan\nb: -.inf\n",
    'lol0: &l0 ["l", "l", "l", "l", "l", "l", "l", "l", "l", "l"]\n'
    + "".join(f"lol{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 10) + "]\n" for n in range(1, 9)),
]


@pytest.mark.usefixtures("forking")
@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_hostile_texts_load_the_same_in_a_child(tmp_path: Path, text: str) -> None:
    path = tmp_path / "in.yaml"
    path.write_text(text, encoding="utf-8")
    assert outcome(later, path) == outcome(lambda p: load_yaml(p, str(p)), path)


@pytest.mark.usefixtures("forking")
@pytest.mark.parametrize("raw", [b"a: 1\x00\n", b"a: \xff\n", b"\xef\xbb\xbfa: 1\n", b"x" * 200])
def test_bytes_and_size_are_refused_the_same(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "in.yaml"
    path.write_bytes(raw)
    set_limits(Limits(max_bytes=100))
    try:
        assert outcome(later, path) == outcome(lambda p: load_yaml(p, str(p)), path)
    finally:
        set_limits(None)
    assert outcome(later, tmp_path / "missing.yaml") == outcome(lambda p: load_yaml(p, str(p)), tmp_path / "missing.yaml")
    assert outcome(later, tmp_path) == outcome(lambda p: load_yaml(p, str(p)), tmp_path)


YAML_FILES = sorted({path for pattern in ("examples/**/*.yaml", "tests/**/*.yaml", "tests/**/*.yml")
                     for path in REPO.glob(pattern) if path.is_file() and ".venv" not in path.parts})


@pytest.mark.usefixtures("forking")
def test_every_yaml_file_of_the_repository_loads_the_same_in_a_child() -> None:
    assert len(YAML_FILES) > 100
    for path in YAML_FILES:
        assert outcome(later, path) == outcome(lambda p: load_yaml(p, str(p)), path), path


scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12),
                    st.sampled_from(["yes", "no", "~", "0o7", "1_000", "10.0", "2001-02-03", "<<", "=", "!x", "*a"]))
documents = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.text(max_size=6) | st.sampled_from(["1", "yes", "<<"]), inner, max_size=4), max_leaves=20)


@pytest.mark.usefixtures("forking")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=documents, style=st.sampled_from([None, False, True]), cut=st.integers(0, 400))
def test_generated_documents_load_the_same_in_a_child(tmp_path: Path, document: Any, style: bool | None,
                                                       cut: int) -> None:
    text = yaml.safe_dump(document, default_flow_style=style, allow_unicode=True)
    for variant in (text, text[:cut], text.replace("'", "")):  # whole, cut short, unquoted
        path = tmp_path / "in.yaml"
        path.write_text(variant, encoding="utf-8")
        assert outcome(later, path) == outcome(lambda p: load_yaml(p, str(p)), path)


def site_outcome(site: Path) -> Any:
    try:
        loaded = load_site(site)
    except ValidationError as exc:
        return ("refused", exc.lines())
    return ("site", loaded)


@pytest.mark.parametrize("case", CASES)
def test_each_hostile_case_loads_the_same_with_its_topology_and_site_file_read_in_a_child(
        case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "site"
    shutil.copytree(CORPUS / case, work)
    monkeypatch.setenv("HOSTILE_PW", "x")
    here = site_outcome(work / "site.yaml")
    monkeypatch.setattr(yamlsrc, "FORK_BYTES", 0)
    monkeypatch.setattr(yamlsrc, "_may_fork", lambda: True)
    assert site_outcome(work / "site.yaml") == here
    early = yamlsrc.prefetch(work / "site.yaml")  # the site file too, as `intent plan` starts it
    try:
        assert site_outcome(work / "site.yaml") == here
    finally:
        early.close()


def test_a_child_that_dies_or_is_not_waited_for_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "in.yaml"
    path.write_text("links: [{a: 'x:1', b: 'y:2'}]\n", encoding="utf-8")

    def dying(text: str, shown: str, limits: Limits) -> tuple[int, int]:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os._exit(3)
        os.close(write_end)
        return pid, read_end

    monkeypatch.setattr(yamlsrc, "FORK_BYTES", 0)
    monkeypatch.setattr(yamlsrc, "_may_fork", lambda: True)
    monkeypatch.setattr(yamlsrc, "_fork_load", dying)
    assert outcome(later, path) == outcome(lambda p: load_yaml(p, str(p)), path)
    monkeypatch.undo()
    monkeypatch.setattr(yamlsrc, "FORK_BYTES", 0)
    monkeypatch.setattr(yamlsrc, "_may_fork", lambda: True)
    load = LaterLoad(path)
    assert load.child is not None
    pid = load.child[0]
    load.close()  # killed and waited for: no zombie left
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, 0)


def test_small_files_and_one_worker_are_read_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "in.yaml"
    path.write_text("a: 1\n", encoding="utf-8")
    assert LaterLoad(path).child is None  # smaller than FORK_BYTES
    monkeypatch.setattr(yamlsrc, "FORK_BYTES", 0)
    monkeypatch.setattr(parallel, "_asked", None)  # no --workers from a command an earlier test ran
    monkeypatch.setenv("INTENT_WORKERS", "1")
    assert LaterLoad(path).child is None
    monkeypatch.setenv("INTENT_WORKERS", "x")  # said by the CLI, and where per-device work asks
    assert LaterLoad(path).child is None


def prefetched(path: Path) -> SourceDoc:
    """``load_yaml`` of a file ``yamlsrc.prefetch`` started (in a child, with ``forking``)."""
    early = yamlsrc.prefetch(path, str(path))
    try:
        if early.refused is None:
            assert early.child is not None, "no child was forked"
        return load_yaml(path, str(path))
    finally:
        early.close()
        assert not yamlsrc._prefetched


@pytest.mark.usefixtures("forking")
def test_every_yaml_file_of_the_repository_loads_the_same_prefetched() -> None:
    for path in YAML_FILES:
        assert outcome(prefetched, path) == outcome(lambda p: load_yaml(p, str(p)), path), path
    assert outcome(prefetched, REPO / "no-such.yaml") == outcome(lambda p: load_yaml(p, str(p)), REPO / "no-such.yaml")


@pytest.mark.usefixtures("forking")
def test_a_prefetch_asked_for_otherwise_is_read_again_and_one_never_asked_for_is_killed(tmp_path: Path) -> None:
    path = tmp_path / "in.yaml"
    path.write_text("a: {b: {c: {d: 1}}}\n", encoding="utf-8")
    early = yamlsrc.prefetch(path)
    assert early.child is not None
    set_limits(Limits(max_depth=2))  # the limits changed after it started: the file is read under the new ones
    try:
        with pytest.raises(ValidationError) as refused:
            load_yaml(path)
        assert "nested more than 2 levels deep" in refused.value.lines()[0]
    finally:
        set_limits(None)
    assert early.child is None and not yamlsrc._prefetched  # its child killed and waited for
    assert load_yaml(path).data == {"a": {"b": {"c": {"d": 1}}}}  # nothing left behind for the next load
    early = yamlsrc.prefetch(path)
    assert load_yaml(path, "shown otherwise").data == {"a": {"b": {"c": {"d": 1}}}}  # another name: not this one
    assert early.child is not None
    pid = early.child[0]
    early.close()  # never taken: killed and waited for, no zombie
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, 0)
    assert not yamlsrc._prefetched


DRIVER = """\
import sys
from engine import yamlsrc
if sys.argv.pop(1) == "fork":  # every file forked for, and each fork said on stderr
    yamlsrc.FORK_BYTES = 0
    yamlsrc._may_fork = lambda: True
    real = yamlsrc._fork_load

    def counted(text, shown, limits):
        sys.stderr.write(f"forked for {shown}\\n")
        return real(text, shown, limits)

    yamlsrc._fork_load = counted
from engine.cli import main
main()
"""


def test_a_prefetched_site_plans_and_refuses_as_a_site_read_here(tmp_path: Path) -> None:
    """``intent plan`` starts its site file in a child before it imports the loader (a fresh process, as
    the console script runs): the same output; and an admission refusal, which names the intent by its
    place in the site file (a position found from the node tree, composed here only when asked:
    ``loader.IntentLocations``), the same too."""
    import subprocess
    import sys

    from tests.test_compile import ECMP_INVENTORY, ECMP_SITE, ECMP_TOPOLOGY

    (tmp_path / "inventory.yaml").write_text(ECMP_INVENTORY)
    (tmp_path / "topology.yaml").write_text(ECMP_TOPOLOGY)
    (tmp_path / "running").mkdir()
    (tmp_path / "driver.py").write_text(DRIVER)
    site = tmp_path / "site.yaml"
    refused = "  - name: backup\n    qos_guarantee: {between: [{vlan: 10}, {vlan: 20}], rate: 850Mbps}\n"

    def plan(mode: str, *command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(tmp_path / "driver.py"), mode, *command, str(site)], cwd=REPO,
                              capture_output=True, text=True, timeout=120)

    for text in (ECMP_SITE, ECMP_SITE + refused):
        site.write_text(text)
        for command in (("plan", "--running", str(tmp_path / "running"), "--format", "json"), ("validate",)):
            here, forked = plan("here", *command), plan("fork", *command)
            assert (forked.returncode, forked.stdout) == (here.returncode, here.stdout)
            assert f"forked for {site}" in forked.stderr.splitlines()  # the site file was parsed in a child
            assert "forked for" not in here.stderr and "Traceback" not in forked.stderr
    assert here.returncode == 1 and f"{site}:12:5: admission refused: backup needs 850Mbps" in here.stderr
    assert f"{site}:12:5: admission refused: backup needs 850Mbps" in forked.stderr
