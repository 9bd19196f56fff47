"""Shared fixtures: sites written to temporary directories, and the CLI run as users run it; how the
suite runs in parallel (pytest-xdist) without two tests sharing what they must not."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shlex
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
INTENT = Path(sys.executable).with_name("intent")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite tests/golden expected files")


# -- running in parallel ---------------------------------------------------------------------------------
# `make test` runs pytest -n 2. Namespace names are fixed by the contract (h-<device>-<interface>, a
# lab's devices), so two lab tests at once in one network namespace would collide: each worker starts in
# a network + mount namespace of its own, with its own /run/netns and loopback, as the sandbox the
# developers use does. Tests that measure traffic rates or wall-clock timing are marked `measures` and
# run with no other test beside them (a shared lock every other test holds while it runs).

SANDBOX = "mkdir -p /run/netns && mount -t tmpfs none /run/netns && ip link set lo up && exec \"$@\""
ALONE = {"tests/test_full_kernel.py": "qemu's software emulation measures traffic in the guest"}  # not ours to edit


def pytest_configure(config: pytest.Config) -> None:
    tx = getattr(config.option, "tx", None)
    if tx and os.geteuid() == 0 and shutil.which("unshare") and shutil.which("ip"):
        python = shlex.join(["unshare", "--mount", "--net", "--propagation", "private", "sh", "-c", SANDBOX,
                             "worker", sys.executable])
        config.option.tx = [spec if "python=" in spec else f"{spec}//python={python}" for spec in tx]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.split("::")[0] in ALONE:
            item.add_marker(pytest.mark.measures)


@contextlib.contextmanager
def _lock(directory: Path, alone: bool) -> Iterator[None]:
    """Readers-writer lock between the workers: every test holds ``run`` shared, a ``measures`` test holds
    it exclusive. ``door`` is passed through first, and held by a waiting measurer, so that a worker
    starting test after test cannot keep the measurer waiting for ever."""
    with open(directory / "door.lock", "w") as door, open(directory / "run.lock", "w") as run:
        fcntl.flock(door, fcntl.LOCK_EX)
        if not alone:
            fcntl.flock(door, fcntl.LOCK_UN)
        fcntl.flock(run, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(run, fcntl.LOCK_UN)
            fcntl.flock(door, fcntl.LOCK_UN)


def _lock_directory(item: pytest.Item) -> Path | None:
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return None
    return item.config._tmp_path_factory.getbasetemp().parent  # type: ignore[attr-defined,no-any-return]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    """Any other test holds the lock from its setup (a lab built for it) to its teardown."""
    directory = _lock_directory(item)
    if directory is None or item.get_closest_marker("measures"):
        yield
        return
    with _lock(directory, alone=False):
        yield


MEASURE_LOCK = "INTENT_TEST_MEASURE_LOCK"  # a file every measuring test on this machine also holds


@contextlib.contextmanager
def _machine_lock() -> Iterator[None]:
    """On a machine shared with other runs, ``INTENT_TEST_MEASURE_LOCK=/tmp/measure.lock`` makes a measuring
    test hold that file exclusive too, so that no other run's measurement shares the cores with it."""
    path = os.environ.get(MEASURE_LOCK)
    if not path:
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """A measuring test is alone while its body runs (its lab is built beside other tests)."""
    if not item.get_closest_marker("measures"):
        yield
        return
    directory = _lock_directory(item)
    waiting = time.monotonic()
    with _lock(directory, alone=True) if directory is not None else contextlib.nullcontext(), _machine_lock():
        # the wait is part of the call's duration (--durations): said apart, as a property (--junitxml)
        item.user_properties.append(("lock_wait_seconds", round(time.monotonic() - waiting, 1)))
        yield


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


INVENTORY = """\
all:
  vars:
    password_env: LAB_PASSWORD
  children:
    linux:
      vars: {platform: linux}
      hosts:
        core1: {netns: core1}
        acc1: {netns: acc1}
        acc2: {netns: acc2}
"""


def lab_inventory(prefix: str = "") -> str:
    """The lab's three Linux devices in a flat inventory, each in the network namespace
    ``<prefix>-<device>`` (no prefix: named as the device)."""
    hosts = "".join(f"    {d}: {{netns: {prefix + '-' if prefix else ''}{d}}}\n" for d in ("core1", "acc1", "acc2"))
    return "all:\n  vars: {platform: linux}\n  hosts:\n" + hosts


def lab_topology(acc1: str = "1Gbps", acc2: str = "1Gbps", *more: str) -> str:
    """The lab's links: core1:eth1 -- acc1:eth0 and core1:eth2 -- acc2:eth0 at these bandwidths, then
    ``more`` links (each a flow mapping such as ``{a: core1:eth5, b: acc3:eth0, bandwidth: 1Gbps}``)."""
    links = [f"{{a: core1:eth1, b: acc1:eth0, bandwidth: {acc1}}}", f"{{a: core1:eth2, b: acc2:eth0, bandwidth: {acc2}}}",
             *more]
    return "links:\n" + "".join(f"  - {link}\n" for link in links)


def lab_site(guarantee: str | None = "rate: 100Mbps", *more: str, reservable: str | None = None,
             guest: bool = False) -> str:
    """The lab's site.yaml: VLAN 10 (users, acc1:eth3) and 20 (video, acc2:eth3) routed by core1, and
    video-10-20 between them with ``guarantee``, the fields after its ``between`` (``"rate: 30Mbps, queue:
    pfifo"``; None: no guarantee). ``guest`` adds VLAN 30 on core1:eth3 after video; ``more`` are further
    intents, each ``"name: ..."`` followed by its kind as one flow mapping on the next line;
    ``reservable`` is the site's default share of each link guarantees may take."""
    intents = ["name: users\n    vlan: {id: 10, subnet: 10.10.0.0/24, gateway: core1, access: [acc1:eth3]}",
               "name: video\n    vlan: {id: 20, subnet: 10.20.0.0/24, gateway: core1, access: [acc2:eth3]}"]
    if guest:
        intents.append("name: guest\n    vlan: {id: 30, subnet: 10.30.0.0/24, gateway: core1, access: [core1:eth3]}")
    if guarantee is not None:
        intents.append(f"name: video-10-20\n    qos_guarantee: {{between: [{{vlan: 10}}, {{vlan: 20}}], {guarantee}}}")
    defaults = f"defaults: {{reservable: {reservable}}}\n" if reservable else ""
    return "site: lab\ninventory: inventory.yaml\ntopology: topology.yaml\n" + defaults + "intents:\n" + \
        "".join(f"  - {intent}\n" for intent in [*intents, *more])


TOPOLOGY = lab_topology()
SITE = lab_site()


class SiteDir:
    """A site on disk. ``write`` replaces one file; texts are dedented."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    @property
    def site(self) -> Path:
        return self.root / "site.yaml"


@pytest.fixture
def site_dir(tmp_path: Path) -> SiteDir:
    """A small valid all-Linux site: core1 routes VLAN 10 (acc1) and 20 (acc2), 100Mbps between them."""
    site = SiteDir(tmp_path)
    site.write("inventory.yaml", INVENTORY)
    site.write("topology.yaml", TOPOLOGY)
    site.write("site.yaml", SITE)
    return site


def run_intent(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed ``intent`` console script, as a user would."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([str(INTENT), *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=120)


def fake_distribution(root: Path, name: str, **files: str) -> Path:
    """The metadata an installed distribution leaves, and nothing else: ``root/<name>-1.0.dist-info/``
    with METADATA and ``files`` (``entry_points.txt``, ``top_level.txt``). Put ``root`` on sys.path and
    importlib.metadata finds it like any installed distribution."""
    info = root / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    for filename, text in files.items():
        (info / filename.replace("_txt", ".txt")).write_text(text)
    return info


@pytest.fixture(scope="session")
def install_distribution(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, str], Path]:
    """``install(directory, package)``: the distribution in ``tests/<directory>`` (a plugin as someone
    outside this repository would ship it) pip-installed into a directory of its own, the path to put on
    PYTHONPATH or sys.path; built from a copy so the tree stays clean, once a session for each directory."""
    installed: dict[str, Path] = {}

    def install(directory: str, package: str) -> Path:
        if directory not in installed:
            root = tmp_path_factory.mktemp(directory)
            source = shutil.copytree(ROOT / "tests" / directory, root / "source")
            target = root / "site-packages"
            result = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                                     "--no-deps", "--target", str(target), str(source)],
                                    capture_output=True, text=True, timeout=600)
            assert result.returncode == 0, f"pip could not install tests/{directory}:\n{result.stdout}{result.stderr}"
            installed[directory] = target
        target = installed[directory]
        assert (target / package / "__init__.py").is_file(), f"tests/{directory} installed no package {package}"
        return target

    return install
