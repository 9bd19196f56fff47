"""Hostile running state: the brownfield corpus's real running configs (IOS, EOS, NX-OS, Junos in set and
brace form) and Linux state documents, with lines deleted, duplicated, moved and the text cut anywhere
(a saved file that lost a section header, two files concatenated, a transfer cut short), and Linux
documents with keys dropped, values of the wrong type and list entries repeated. Each is planned through
the engine's plan API as the corpus plans it (tests/brownfield/test_corpus.write_site): the plan is
computed, or refused with every message located in the file that was mutated. No other exception (a
hier_config DuplicateChildError, a KeyError from a document's shape) may escape: the CLI shows those as
"internal error". A plan computed from a mutated config is judged by the brownfield checker too, with
takeover as the corpus test has it: nothing the engine does not own changed, no port shut, no trunk
VLAN dropped, the rollback exact."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from engine.compiler import compile_site
from engine.errors import ValidationError
from engine.loader import load_site
from engine.plan import RunningState, make_plan
from intents.registry import Registry
from tests.brownfield import checker
from tests.brownfield.test_corpus import HERE, MANIFEST, write_site

CASES_YAML: dict[str, dict[str, Any]] = yaml.safe_load((HERE / "cases.yaml").read_text())
SOURCES = [(f"corpus/{name}", MANIFEST[name]["roles"]) for name in sorted(MANIFEST)] + \
    [(f"cases/{name}", CASES_YAML[name]["roles"]) for name in sorted(CASES_YAML)]
assert {source.split("/")[1] for source, _ in SOURCES} == {"ios", "eos", "nxos", "junos"}
LINUX_R1 = (HERE.parent / "golden" / "linux" / "brownfield" / "running" / "r1.json").read_text()
EXAMPLES = int(os.environ.get("INTENT_RUNNING_EXAMPLES", "400"))
REGISTRY = Registry()
WORK = Path(tempfile.mkdtemp(prefix="intent-running-mutations-"))
OUTCOMES: Counter[str] = Counter()

INDEX = st.integers(0, 1 << 16)  # a position, taken modulo the text's length when used
LINE_EDITS = st.lists(st.one_of(
    st.tuples(st.just("delete"), INDEX),
    st.tuples(st.just("duplicate"), INDEX, INDEX),  # line i again before line j
    st.tuples(st.just("move"), INDEX, INDEX),
    st.tuples(st.just("swap"), INDEX, INDEX),
    st.tuples(st.just("block"), INDEX, st.integers(2, 12), INDEX),  # a run of lines again elsewhere
    st.tuples(st.just("truncate"), INDEX),  # the text cut at a character, mid-line or not
), min_size=1, max_size=6)


def edit_lines(text: str, edits: list[tuple[Any, ...]]) -> str:
    lines = text.splitlines(keepends=True)
    for edit in edits:
        if not lines:
            break
        kind, n = edit[0], len(lines)
        if kind == "delete":
            del lines[edit[1] % n]
        elif kind == "duplicate":
            lines.insert(edit[2] % (n + 1), lines[edit[1] % n])
        elif kind == "move":
            line = lines.pop(edit[1] % n)
            lines.insert(edit[2] % n, line)
        elif kind == "swap":
            i, j = edit[1] % n, edit[2] % n
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "block":
            start = edit[1] % n
            lines[edit[3] % (n + 1):edit[3] % (n + 1)] = lines[start:start + edit[2]]
        else:  # the cut line ends the file: a line after it (a later edit) starts a line of its own
            joined = "".join(lines)
            lines = [line if line.endswith("\n") else line + "\n"
                     for line in joined[:edit[1] % (len(joined) + 1)].splitlines(keepends=True)]
    return "".join(lines)


# What a device itself can print, or a file concatenated: a port or VLAN section given again whole, at a
# place where a section of its kind starts (IOS printing `interface X` twice, repeated `vlan` blocks), a
# Junos statement set again anywhere, the whole file twice. The device's configuration is then the same,
# so the plan is judged by the brownfield checker as well.
DEVICE_REPEATS = st.lists(st.one_of(st.tuples(st.just("section"), INDEX, INDEX), st.tuples(st.just("concat"))),
                          min_size=1, max_size=3)
SECTION = re.compile(r"(interface|vlan) \S|set (interfaces|vlans) ")


def repeat_sections(text: str, edits: list[tuple[Any, ...]]) -> str:
    for edit in edits:
        if edit[0] == "concat":
            text += text
            continue
        lines = text.splitlines(keepends=True)
        starts = [i for i, line in enumerate(lines) if SECTION.match(line) and i not in banner_text(lines)]
        if not starts:
            continue
        start = starts[edit[1] % len(starts)]
        end = start + 1
        while end < len(lines) and lines[end][:1] == " " and not lines[start].startswith("set "):
            end += 1
        at = starts[edit[2] % len(starts)]
        text = "".join(lines[:at] + lines[start:end] + lines[at:])
    return text


def banner_text(lines: list[str]) -> set[int]:
    """Indexes of the lines that are a banner's text (``vlan 10`` there is text, no section)."""
    inside: set[int] = set()
    delimiter = None
    for index, line in enumerate(lines):
        if delimiter is not None:
            inside.add(index)
            if (line.strip() == "EOF") if delimiter == "EOF" else delimiter in line:
                delimiter = None
        elif line.startswith("banner "):
            words = line.split(None, 2)
            delimiter = "EOF" if len(words) == 2 else words[2][:2] if words[2].startswith("^C") else words[2][:1]
            if delimiter != "EOF" and delimiter in words[2][len(delimiter):]:
                delimiter = None  # the banner on one line
    return inside


JSON_VALUE = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-5, 1 << 33), st.floats(allow_nan=False),
                                    st.sampled_from(["", "eth0", "br10", "1:", "1:2", "htb", "10.10.0.1/24", "up"])),
                          lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                  st.dictionaries(st.sampled_from(["name", "dev", "kind", "x"]), inner,
                                                                  max_size=3)), max_leaves=5)
DOCUMENT_EDITS = st.lists(st.one_of(
    st.tuples(st.just("drop"), INDEX),  # a key (or a list entry) of some object goes
    st.tuples(st.just("set"), INDEX, JSON_VALUE),  # some value becomes another JSON value
    st.tuples(st.just("repeat"), INDEX),  # a list entry twice
), min_size=1, max_size=4)


def _containers(value: Any) -> list[Any]:
    found: list[Any] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (dict, list)):
            found.append(item)
            stack.extend(item.values() if isinstance(item, dict) else item)
    return found


def edit_document(document: Any, edits: list[tuple[Any, ...]]) -> Any:
    for edit in edits:
        containers = [c for c in _containers(document) if c]
        if not containers:
            return document
        target = containers[edit[1] % len(containers)]
        keys = list(target) if isinstance(target, dict) else list(range(len(target)))
        key = keys[edit[1] // len(containers) % len(keys)]
        if edit[0] == "drop":
            del target[key]
        elif edit[0] == "set":
            target[key] = edit[2]
        elif isinstance(target, list):
            target.insert(key, json.loads(json.dumps(target[key])))
        else:
            target[key] = [target[key], target[key]]
    return document


def applied_linux_state(compilation: Any) -> str:
    """lnx1 as the Linux driver reads it back once the plan is applied: the desired state and what it owns."""
    from engine import linux

    document = dict(compilation.configs["lnx1"].document)
    document["owned"] = [key for key, _ in linux.objects(document)]
    return json.dumps(document, indent=2) + "\n"


@st.composite
def mutated_sites(draw: Any) -> dict[str, Any]:
    source, roles = draw(st.sampled_from(SOURCES))
    device_printed = draw(st.booleans())  # then lnx1 has no file: its refusals would hide the plan of dut
    return {"source": source, "roles": roles, "takeover": draw(st.booleans()), "device_printed": device_printed,
            "edits": draw(DEVICE_REPEATS if device_printed else LINE_EDITS),
            "linux": "none" if device_printed else draw(st.sampled_from(["none", "applied", "r1"])),
            "linux_lines": draw(st.one_of(st.none(), LINE_EDITS)),
            "linux_document": draw(st.one_of(st.none(), DOCUMENT_EDITS))}


def planned(platform: str, running: str, roles: dict[str, str], takeover: bool, linux: str | None = None
            ) -> tuple[Any, Any, list[tuple[Any, str]]]:
    """(plan, compilation, []) or (None, compilation, the refusals) of the corpus site with these files."""
    site_file = write_site(WORK, platform, running, roles, takeover)
    (WORK / "running" / "lnx1.json").unlink(missing_ok=True)
    if linux is not None:
        (WORK / "running" / "lnx1.json").write_text(linux)
    site = load_site(site_file, registry=REGISTRY)
    compilation = compile_site(site, REGISTRY)
    try:
        return make_plan(site, compilation, RunningState(WORK / "running"), REGISTRY), compilation, []
    except ValidationError as exc:
        assert exc.problems
        return None, compilation, exc.problems


# A Junos statement entered again before the others of its port (hypothesis found it): the refusal and the
# takeover note list the port's foreign statements in one order whatever order the file has them in.
JUNOS_STATEMENT_AGAIN = {"source": "cases/junos/ex19-range-set.cfg", "roles": CASES_YAML["junos/ex19-range-set.cfg"]["roles"],
                         "device_printed": True, "edits": [("section", 8706, 0)], "linux": "none", "linux_lines": None,
                         "linux_document": None}
REFERENCE: dict[tuple[str, bool], tuple[Any, list[str]]] = {}  # the unmutated config's plan of dut, or refusals


def reference(drawn: dict[str, Any]) -> tuple[Any, list[str]]:
    key = (drawn["source"], drawn["takeover"])
    if key not in REFERENCE:
        plan, _, problems = planned(drawn["source"].split("/")[1], (HERE / drawn["source"]).read_text(),
                                    drawn["roles"], drawn["takeover"])
        REFERENCE[key] = (plan.devices["dut"] if plan else None, sorted({message for _, message in problems}))
    return REFERENCE[key]


@settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=False,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(drawn=mutated_sites())
@example(drawn={**JUNOS_STATEMENT_AGAIN, "takeover": False})
@example(drawn={**JUNOS_STATEMENT_AGAIN, "takeover": True})
def planned_or_refused_in_the_mutated_file(drawn: dict[str, Any]) -> None:
    platform = drawn["source"].split("/")[1]
    original = (HERE / drawn["source"]).read_text()
    running = (repeat_sections if drawn["device_printed"] else edit_lines)(original, drawn["edits"])
    mutated = {"dut.cfg"}
    linux = None
    if drawn["linux"] != "none":
        linux = LINUX_R1 if drawn["linux"] == "r1" else applied_linux_state(
            planned(platform, original, drawn["roles"], drawn["takeover"])[1])
        if drawn["linux_document"] is not None:
            linux = json.dumps(edit_document(json.loads(linux), drawn["linux_document"]), indent=2) + "\n"
        if drawn["linux_lines"] is not None:
            linux = edit_lines(linux, drawn["linux_lines"])
        mutated.add("lnx1.json")
    plan, compilation, problems = planned(platform, running, drawn["roles"], drawn["takeover"], linux)
    for where, message in problems:
        assert Path(where.file).parent == WORK / "running" and Path(where.file).name in mutated, (where, message)
        assert where.line >= 1 and where.col >= 1 and message and "\n" not in message, (where, message)
        assert "internal error" not in message and "Traceback" not in message, message
    OUTCOMES["refused" if problems else "planned"] += 1
    if not drawn["device_printed"]:
        if plan is not None:
            json.loads(plan.to_json())
        return
    # The device's configuration is the same: the same plan of dut (the commands of a section in the
    # order its first occurrence has them), or the same refusals; and the checker's guarantees.
    device, refusals = reference(drawn)
    if plan is None:
        # (a refusal at a line the text repeats is there once per occurrence: the set of messages)
        assert sorted({message for _, message in problems}) == refusals, (problems, refusals)
        return
    assert device is not None, refusals
    now = plan.devices["dut"]
    assert sorted(now.commands) == sorted(device.commands) and sorted(now.rollback) == sorted(device.rollback)
    assert [note for note in now.notes if note not in device.notes] == [note for note in now.notes if note.startswith(
        "the running config enters these more than once")]
    if drawn["takeover"] and now.commands:
        OUTCOMES["checked"] += 1
        checker.check(platform, running, compilation.configs["dut"].text, now, CASES_YAML.get(
            drawn["source"].removeprefix("cases/"), {}).get("inherited"))


def test_mutated_running_state_is_planned_or_refused_in_the_file() -> None:
    """Hypothesis runs every example, then this checks that both outcomes were seen (one test, so that
    under pytest -n no worker sees half)."""
    OUTCOMES.clear()
    planned_or_refused_in_the_mutated_file()
    print(dict(OUTCOMES))
    assert OUTCOMES["planned"] + OUTCOMES["refused"] >= EXAMPLES, OUTCOMES
    assert OUTCOMES["planned"] > 0 and OUTCOMES["refused"] > 0 and OUTCOMES["checked"] > 0, OUTCOMES
