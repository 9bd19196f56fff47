"""``compile_and_plan`` (each device rendered and planned in one step, what ``intent plan --running`` runs)
against ``compile_site`` then ``make_plan``: the same plan, configs, models and compilation, or the same
error, raised at the same point (``compiled`` is called exactly when the site has compiled), in one
process and with devices spread over forked workers. On the repository's example and golden sites,
the brownfield corpus with and without takeover, the hostile running states, generated fabrics and
campuses with running configs (trunk and access links kept from them, Linux kernels probed), and
sites made to fail: a token render refuses, an over-reserved link, a transit pool too small for the routed
links (refused as models are frozen), unreadable running state."""

from __future__ import annotations

import dataclasses
import json
import shutil
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine import parallel
from engine.compilation import Compilation
from engine.compiler import compile_site
from engine.errors import IntentError
from engine.loader import load_site
from engine.model import Endpoint, Site
from engine.plan import Plan, RunningState, compile_and_plan, make_plan
from tests.bench.fabric import generate as generate_fabric
from tests.bench.plan_scale import generate_campus
from tests.brownfield.test_corpus import CASES as BROWNFIELD
from tests.brownfield.test_corpus import HERE as BROWNFIELD_DIR
from tests.brownfield.test_corpus import MANIFEST
from tests.brownfield.test_corpus import write_site as write_brownfield

ROOT = Path(__file__).parent.parent
EXAMPLES = [ROOT / "examples" / name / "site.yaml" for name in ("campus", "kernel", "lab")]
GOLDEN = sorted(ROOT.glob("tests/golden/*/*/site.yaml")) + sorted(ROOT.glob("tests/drivers/*/site/site.yaml"))
HOSTILE_RUNNING = sorted(ROOT.glob("tests/hostile/corpus/running-*/site.yaml"))
FIXED = [*EXAMPLES, *GOLDEN, *HOSTILE_RUNNING]
ENV = {"HOSTILE_PW": "x", "CORPUS_PW": "corpus-secret", "LAB_PASSWORD": "lab-secret", "BENCH_PASSWORD": "bench-secret"}


@pytest.fixture(params=["one process", "forked"])
def workers(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every map in one process, or spread over two even on a small site (each device may be a child's)."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    if request.param == "forked":
        monkeypatch.setattr(parallel, "MIN_ITEMS_PER_WORKER", 1)
        parallel.set_workers(2)
    else:
        parallel.set_workers(1)
    yield
    parallel.set_workers(None)


def outcome(site: Site, running: Path, fused: bool) -> tuple[Any, ...]:
    """What a run gives: the calls of ``compiled`` and the plan and compilation, or the error."""
    events: list[str] = []
    try:
        if fused:
            compilation, plan = compile_and_plan(site, RunningState(running), compiled=lambda: events.append("compiled"))
        else:
            compilation = compile_site(site)
            events.append("compiled")
            plan = make_plan(site, compilation, RunningState(running))
    except IntentError as exc:
        return events, type(exc), str(exc), vars(exc)
    return events, plan, _compiled(compilation), _written(site, plan, compilation)


def _compiled(compilation: Compilation) -> tuple[Any, ...]:
    configs = compilation.configs
    return (list(configs), configs, {name: config.objects for name, config in configs.items()},
            list(compilation.models), compilation.models, compilation.reservations, compilation.vlans_per_link,
            compilation.notes, compilation.path_computations)


def _written(site: Site, plan: Plan, compilation: Compilation) -> tuple[bytes, bytes]:
    return plan.to_json_bytes(), plan.plan_file("site.yaml", compilation.configs, site, "key")


def assert_same(site: Site, running: Path) -> tuple[Any, ...]:
    apart = outcome(site, running, fused=False)
    assert outcome(site, running, fused=True) == apart
    return apart


def running_copy(site_file: Path, tmp_path: Path) -> Path:
    """The site's saved running state (if any), copied to be changed."""
    running = tmp_path / "running"
    if (site_file.parent / "running").is_dir():
        shutil.copytree(site_file.parent / "running", running)
    running.mkdir(exist_ok=True)
    return running


@pytest.mark.parametrize("site_file", FIXED, ids=lambda path: str(path.parent.relative_to(ROOT)))
def test_a_site_as_it_is(site_file: Path, tmp_path: Path, workers: None) -> None:
    assert_same(load_site(site_file), running_copy(site_file, tmp_path))


@pytest.mark.parametrize("site_file", [*EXAMPLES, *GOLDEN], ids=lambda path: str(path.parent.relative_to(ROOT)))
@pytest.mark.parametrize("change", ["kernel", "not json", "not utf-8", "render refused", "refused and unreadable",
                                    "over-reserved", "no transit addresses"])
def test_a_site_made_to_fail_or_differ(site_file: Path, change: str, tmp_path: Path, workers: None) -> None:
    running = running_copy(site_file, tmp_path)
    site = load_site(site_file)
    names = sorted(site.devices)
    linux = [name for name in names if site.devices[name].platform == "linux"]
    cli = [name for name in names if site.devices[name].platform != "linux"]
    if change == "kernel":  # each Linux device says what its kernel has: rendered again for it
        for number, name in enumerate(linux):
            kernel = [{"drr": True}, {"nftables": True}, {"drr": True, "nftables": True}, {}][number % 4]
            (running / f"{name}.json").write_text(json.dumps({"device": name, "platform": "linux", "kernel": kernel}))
    if change == "not json" and linux:
        (running / f"{linux[-1]}.json").write_text("{not json")
    if change in ("not utf-8", "refused and unreadable"):
        (running / f"{names[-1]}{'.json' if names[-1] in linux else '.cfg'}").write_bytes(b"hostname x\n\xff\n")
    if change in ("render refused", "refused and unreadable"):  # a value no template may receive, past the loader
        site = _renamed_port(site, names[len(names) // 2], "eth9 x")
    if change == "over-reserved":
        site = dataclasses.replace(site, links=tuple(dataclasses.replace(link, bandwidth_bps=1000)
                                                     for link in site.links))
    if change == "no transit addresses":  # freezing a model with routes refuses: a TopologyError, as finish() raises
        site = dataclasses.replace(site, defaults=dataclasses.replace(site.defaults, transit_pool="10.255.0.0/31"))
        (running / f"{names[0]}.cfg").write_bytes(b"\xff")
    if cli and change == "not json":  # and a CLI device's running config a takeover refuses
        (running / f"{cli[0]}.cfg").write_text("vlan 10\n name someone-elses\n")
    assert_same(site, running)


def _renamed_port(site: Site, device: str, interface: str) -> Site:
    """``site`` with the first link end on ``device`` renamed ``interface``."""
    links = list(site.links)
    for index, link in enumerate(links):
        for end in ("a", "b"):
            if getattr(link, end).device == device:
                links[index] = dataclasses.replace(link, **{end: Endpoint(device, interface)})
                return dataclasses.replace(site, links=tuple(links))
    return site


@pytest.mark.parametrize("case", BROWNFIELD)
@pytest.mark.parametrize("takeover", [False, True])
def test_the_brownfield_corpus(case: str, takeover: bool, tmp_path: Path, workers: None) -> None:
    """Refusals named per port (without takeover), a taken-over config planned (with it)."""
    entry = MANIFEST[case]
    site_file = write_brownfield(tmp_path, case.split("/")[0], (BROWNFIELD_DIR / "corpus" / case).read_text(),
                                 entry["roles"], takeover)
    assert_same(load_site(site_file), tmp_path / "running")


def _with_running(site_file: Path, keep: Callable[[str], bool], edit: Callable[[str, str], str]) -> None:
    """Write the compiled config of the devices ``keep`` takes as their running state, changed by ``edit``;
    each Linux one with a kernel."""
    site = load_site(site_file)
    compilation = compile_site(site)
    running = site_file.parent / "running"
    for number, (name, config) in enumerate(sorted(compilation.configs.items())):
        if not keep(name):
            continue
        if config.document is not None:
            document = dict(config.document, kernel={"drr": number % 2 == 0, "nftables": number % 3 == 0})
            (running / f"{name}.json").write_text(json.dumps(document))
        else:
            (running / f"{name}.cfg").write_text(edit(name, config.text))


def _trunks_to_access(name: str, text: str) -> str:
    """A running config that ran its trunks as access ports: a one-VLAN link keeps that mode (its ends are
    rendered again), another is refused."""
    return text.replace("switchport mode trunk", "switchport mode access")


@pytest.mark.parametrize("shape", ["fabric", "campus", "fabric with servers"])
def test_generated_sites_with_running_configs(shape: str, tmp_path: Path, workers: None) -> None:
    if shape == "fabric":
        site_file = generate_fabric(tmp_path, 60, guarantees=20, spines=2)
    elif shape == "campus":  # so small that more guarantees meet on an access switch than it has queues
        site_file = generate_campus(tmp_path, 120)
    else:  # L2 server switches under the leaves: single-VLAN links whose mode the running config keeps
        site_file = generate_fabric(tmp_path, 80, guarantees=10, spines=2, max_gateways=20)
    site = load_site(site_file)
    apart = assert_same(site, site_file.parent / "running")  # fresh
    if shape == "campus":
        assert apart[0] == [] and apart[1].__name__ == "RenderError" and "queues for 4" in apart[2], apart
        return
    assert apart[0] == ["compiled"] and isinstance(apart[1], Plan)
    _with_running(site_file, lambda name: zlib.crc32(name.encode()) % 3 != 0, _trunks_to_access)
    assert_same(load_site(site_file), site_file.parent / "running")


def test_a_probed_kernel_renders_the_device_again(tmp_path: Path, workers: None) -> None:
    """qos_share as DRR classes where the running state says the kernel has drr: the config planned is that one."""
    site_file = ROOT / "tests" / "golden" / "linux" / "fresh" / "site.yaml"
    running = running_copy(site_file, tmp_path)
    site = load_site(site_file)
    for name in site.devices:
        (running / f"{name}.json").write_text(json.dumps({"device": name, "platform": "linux", "kernel": {"drr": True}}))
    _, plan, (names, configs, *_), _ = assert_same(site, running)
    compiled = compile_site(site).configs
    again = [name for name in names if configs[name] != compiled[name]]
    assert again and all(" drr" in configs[name].text and " drr" not in compiled[name].text for name in again)


def test_a_refused_render_comes_before_running_state_and_the_compiled_hook(tmp_path: Path, workers: None) -> None:
    site_file = ROOT / "examples" / "campus" / "site.yaml"
    running = running_copy(site_file, tmp_path)
    (running / "core1.json").write_bytes(b"\xff")
    site = dataclasses.replace(load_site(site_file), name="lab x")
    events, kind, message, _ = assert_same(site, running)
    assert events == [] and kind.__name__ == "RenderError" and "refusing to render it" in message


def test_a_site_read_from_yaml_written_here(tmp_path: Path, workers: None) -> None:
    """A small hand-written site: two switches over a one-VLAN link that the running config runs untagged."""
    (tmp_path / "inventory.yaml").write_text(yaml.safe_dump({"all": {"hosts": {
        "sw1": {"platform": "ios", "host": "192.0.2.1", "password_env": "CORPUS_PW"},
        "sw2": {"platform": "eos", "host": "192.0.2.2", "password_env": "CORPUS_PW"}}}}))
    (tmp_path / "topology.yaml").write_text(yaml.safe_dump({"links": [
        {"a": "sw1:GigabitEthernet0/1", "b": "sw2:Ethernet1", "bandwidth": "1Gbps"}]}))
    (tmp_path / "site.yaml").write_text(yaml.safe_dump({"site": "pair", "inventory": "inventory.yaml",
                                                        "topology": "topology.yaml", "intents": [
        {"name": "users", "vlan": {"id": 10, "subnet": "10.10.0.0/24", "gateway": "sw1",
                                   "access": ["sw2:Ethernet2"]}}]}, sort_keys=False))
    (tmp_path / "running").mkdir()
    compiled = compile_site(load_site(tmp_path / "site.yaml")).configs["sw1"].text
    assert "switchport mode trunk" in compiled
    (tmp_path / "running" / "sw2.cfg").write_text("interface Ethernet1\n   switchport mode access\n")
    _, plan, (_, configs, *_), _ = assert_same(load_site(tmp_path / "site.yaml"), tmp_path / "running")
    assert "switchport mode trunk" not in configs["sw1"].text, configs["sw1"].text
