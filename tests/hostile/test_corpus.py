"""The hostile corpus (tests/hostile/corpus/, written by make_corpus.py from a valid site by editing its
text): every case is refused with exit 1, every message located as FILE:LINE:COL in the file the case
broke, no traceback, no "internal error", and for injection cases the payload in no output and no file.
Plus a property test: thousands of generated sites, each either valid or refused the same way."""

from __future__ import annotations

import json
import os
import re
import shutil
import string
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.compiler import compile_site
from engine.errors import IntentError, ValidationError
from engine.loader import load_site
from engine.plan import RunningState, make_plan
from intents.registry import Registry
from tests.hostile import make_corpus
from tests.hostile.common import run

CORPUS = make_corpus.CORPUS
CASES = sorted(path.name for path in CORPUS.iterdir() if path.is_dir())
LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): \S")


def test_the_committed_corpus_is_what_the_generator_writes() -> None:
    written = {str(path.relative_to(CORPUS)): path.read_bytes() for path in CORPUS.rglob("*") if path.is_file()}
    assert written == make_corpus.corpus_files()
    assert len(CASES) >= 150


@pytest.mark.parametrize("case", CASES)
def test_each_malformed_input_is_refused_with_a_located_message(case: str, tmp_path: Path) -> None:
    work = tmp_path / "site"
    shutil.copytree(CORPUS / case, work)
    meta = json.loads((work / "case.json").read_text())
    (work / "case.json").unlink()
    (work / "running").mkdir(exist_ok=True)
    inputs = {path: path.read_bytes() for path in work.rglob("*") if path.is_file()}
    out = tmp_path / "plan.json"
    env = {"HOSTILE_PW": "x", "INTENT_STATE_DIR": str(tmp_path / "state"), **meta["env"]}
    commands = [["plan", str(work / "site.yaml"), "--running", str(work / "running"), "--out", str(out)],
                ["plan", str(work / "site.yaml"), "--running", str(work / "running"), "--format", "json"]]
    if not case.startswith("running-"):  # validate does not read saved running state
        commands.append(["validate", str(work / "site.yaml")])
    for args in commands:
        result = run(*args, env=env)
        assert not result.crashed, result.crashed
        assert result.code == 1, (args, result.text)
        assert "Traceback" not in result.text and "internal error" not in result.text, result.text
        lines = result.stderr.splitlines() if args[-1] != "json" else json.loads(result.stdout)["errors"]
        assert lines, result.text
        where = {os.path.normpath(m.group("file")) for m in map(LOCATED.match, lines) if m}
        assert all(LOCATED.match(line) for line in lines), lines  # every message located
        expected = os.path.normpath(meta["expect_file"] if meta["expect_file"].startswith("/")
                                    else work / meta["expect_file"])
        assert expected in where, (expected, lines)
        if meta["payload"]:
            assert meta["payload"] not in result.text
    assert not out.exists()
    if meta["payload"]:  # nothing the engine wrote carries it: only the inputs hold the payload
        for path in tmp_path.rglob("*"):
            if path.is_file() and path not in inputs:
                assert meta["payload"].encode() not in path.read_bytes(), path
    assert {path: path.read_bytes() for path in work.rglob("*") if path.is_file()} == inputs


# -- property: generated sites -------------------------------------------------------------------------

HOSTILE_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
NAMEISH = st.one_of(
    st.text(alphabet=string.ascii_letters + string.digits + "-_./:", min_size=1, max_size=10),
    st.sampled_from(["users", "video", "a\nb", "x\r", "..", "a/b", "-x", "x y", "x;y", "x!", "é", "x\u2028",
                     "x\n" + make_corpus.PAYLOAD, "", "A" * 70, "1234", "x\x00y", "x\x1by"]),
    HOSTILE_TEXT,
)
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-10, 5000), st.floats(allow_nan=True), NAMEISH,
                   st.sampled_from(["100Mbps", "1.001Mbps", "100MBps", "10%", "١٠٠Mbps", "0bps", "1e3bps",
                                    "10.10.0.0/24", "10.10.0.5/24", "core1", "acc1:GigabitEthernet1/0/3"]))
VALUE = st.recursive(SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                     st.dictionaries(NAMEISH, inner, max_size=3)), max_leaves=6)
DEVICE_NAMES = st.sampled_from(["core1", "acc1", "acc2"])
IFACES = st.one_of(st.sampled_from(["eth1", "eth3", "GigabitEthernet1/0/3", "ge-0/0/3", "Ethernet1"]), NAMEISH)


FIELDS = ["site", "intent_name", "vlan_name", "vlan_id", "subnet", "gateway", "access", "rate", "ceil", "limit",
          "between", "host", "netns", "platform", "link_a", "link_b", "bandwidth", "extra_intent", "extra_key"]


@st.composite
def sites(draw: Any) -> dict[str, Any]:
    """A site, inventory and topology as data: valid, except for up to three fields drawn from anything
    (hostile names and text, wrong types, nested junk). Valid-looking draws still plan, so both the
    refusals and the rendering of whatever passes are exercised."""
    hostile = draw(st.sets(st.sampled_from(FIELDS), max_size=3))

    def pick(field: str, valid: Any, strategy: st.SearchStrategy[Any] = SCALAR) -> Any:
        return draw(strategy) if field in hostile else valid

    vlans = []
    for index in range(draw(st.integers(1, 3))):
        port = f"acc1:GigabitEthernet1/0/{index + 3}" if index % 2 == 0 else f"acc2:ge-0/0/{index + 3}"
        body: dict[str, Any] = {
            "id": pick("vlan_id", 10 * (index + 1), st.one_of(st.integers(0, 4096), SCALAR)),
            "subnet": pick("subnet", f"10.{index + 1}.0.0/24"), "gateway": pick("gateway", "core1", NAMEISH),
            "access": [pick("access", port, st.one_of(st.builds(lambda d, i: f"{d}:{i}", DEVICE_NAMES, IFACES),
                                                          SCALAR))]}
        if draw(st.booleans()):
            body["name"] = pick("vlan_name", f"vl{index}", NAMEISH)
        vlans.append({"name": pick("intent_name", f"v{index}", NAMEISH) if index == 0 else f"v{index}", "vlan": body})
    intents: list[Any] = list(vlans)
    if len(vlans) > 1 and draw(st.booleans()):
        guarantee: dict[str, Any] = {"between": pick("between", [{"vlan": 10}, {"vlan": 20}], VALUE),
                                     "rate": pick("rate", "100Mbps")}
        if draw(st.booleans()):
            guarantee["ceil"] = pick("ceil", "2Gbps")
        intents.append({"name": "g", "qos_guarantee": guarantee})
    if draw(st.booleans()):
        intents.append({"name": "cap", "qos_limit": {"vlan": 10, "rate": pick("limit", "50Mbps")}})
    if "extra_intent" in hostile:
        intents.append(draw(VALUE))
    hosts: dict[Any, Any] = {"core1": {"platform": "linux", "netns": pick("netns", "core1", NAMEISH)},
                             "acc1": {"platform": pick("platform", "ios", st.sampled_from(["eos", "nxos", "x", "linux"]))},
                             "acc2": {"platform": "junos"}}
    if "host" in hostile:
        hosts[draw(NAMEISH)] = draw(st.one_of(st.just({"platform": "ios"}), VALUE))
    links = [{"a": pick("link_a", "core1:eth1", st.builds(lambda i: f"core1:{i}", IFACES)),
              "b": pick("link_b", "acc1:GigabitEthernet1/0/1", st.builds(lambda d, i: f"{d}:{i}", DEVICE_NAMES, IFACES)),
              "bandwidth": pick("bandwidth", "1Gbps")},
             {"a": "core1:eth2", "b": "acc2:ge-0/0/1", "bandwidth": "1Gbps"}]
    site: dict[Any, Any] = {"site": pick("site", "gen", NAMEISH), "inventory": "inventory.yaml",
                            "topology": "topology.yaml", "intents": intents}
    if "extra_key" in hostile:
        site[draw(NAMEISH)] = draw(VALUE)
    return {"site.yaml": site, "inventory.yaml": {"all": {"vars": {"password_env": "HOSTILE_PW"}, "hosts": hosts}},
            "topology.yaml": {"links": links}}


WORK = Path(tempfile.mkdtemp(prefix="intent-hostile-property-"))
(WORK / "running").mkdir()
EXAMPLES = int(os.environ.get("INTENT_PROPERTY_EXAMPLES", "2000"))
REGISTRY = Registry()  # one registry for all examples: reading entry points is most of a small site's cost
OUTCOMES: Counter[str] = Counter()


@settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=False,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(files=sites())
def planned_or_refused_with_locations(files: dict[str, Any]) -> None:
    for name, data in files.items():
        (WORK / name).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    try:
        site = load_site(WORK / "site.yaml", registry=REGISTRY)
        compilation = compile_site(site, REGISTRY)
        plan = make_plan(site, compilation, RunningState(WORK / "running"), REGISTRY)
        OUTCOMES["planned"] += 1
    except ValidationError as exc:
        OUTCOMES["refused"] += 1
        assert exc.problems
        for where, message in exc.problems:
            assert Path(where.file).name in files and where.line >= 1 and where.col >= 1, (where, message)
            assert "\n" not in message
        return
    except IntentError as exc:  # semantic: no path, over-reservation, a platform's queue count
        OUTCOMES["semantic"] += 1
        assert str(exc) and "Traceback" not in str(exc)
        return
    # planned: no value started a line of its own, no control character reached a configuration
    for device, config in compilation.configs.items():
        assert make_corpus.PAYLOAD not in config.text
        for line in config.text.splitlines():
            assert line.isprintable(), (device, line)
    assert json.loads(plan.to_json())["site"] == site.name


def test_generated_sites_are_planned_or_refused_with_locations() -> None:
    """Hypothesis runs every example, then this checks it generated what it says and some sites were
    planned, so the rendering checks ran too (one test, so that under pytest -n no worker sees half)."""
    OUTCOMES.clear()
    planned_or_refused_with_locations()
    print(dict(OUTCOMES))
    assert sum(OUTCOMES.values()) >= EXAMPLES and OUTCOMES["planned"] > 0 and OUTCOMES["refused"] > 0, OUTCOMES
