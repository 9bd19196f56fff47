"""intent exporter: compliance per intent, failing and hanging devices, metric names; and a real
Prometheus server scraping the exporter on the lab while traffic runs and a class is deleted by hand."""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry

from engine.compiler import compile_site
from engine.errors import ConnectError
from engine.exporter import DeviceState, Poller, SiteCollector, owned_classes, parse_listen
from engine.loader import load_site
from tests.conftest import INTENT, ROOT, SiteDir, run_intent
from tests.labs import Lab, running_lab
from tests.test_verify import SITE  # the lab site: VLANs 10/20/30, a guarantee, a cap


@pytest.fixture
def compiled(site_dir: SiteDir) -> tuple[Any, Any]:
    site_dir.write("site.yaml", SITE)
    site = load_site(site_dir.site)
    return site, compile_site(site)


class FakeDevices:
    """A fake, for the unit tests only: devices whose state is a document the test edits by hand
    (the lab test below reads real namespaces)."""

    def __init__(self, compilation: Any) -> None:
        from engine import linux

        self.documents = {}
        for name, config in compilation.configs.items():
            document = copy.deepcopy(config.document)
            document["owned"] = sorted({key for key, _ in linux.objects(document)})
            self.documents[name] = document
        self.failing: dict[str, Exception] = {}
        self.hanging: set[str] = set()
        self.garbage: set[str] = set()  # devices that answer something that is not a state document
        self.release = threading.Event()
        self.bytes = 1000

    def read(self, name: str) -> DeviceState:
        if name in self.failing:
            raise self.failing[name]
        if name in self.hanging:
            self.release.wait(30)
        if name in self.garbage:
            return DeviceState("not a state document")
        document = self.documents[name]
        stats = tuple({"dev": c["dev"], "classid": c["classid"], "bytes": self.bytes, "packets": 10, "drops": 1,
                       "overlimits": 2} for c in document["classes"])
        return DeviceState(json.dumps(document), stats)


def scrape(poller: Poller) -> dict[str, list[tuple[dict[str, str], float]]]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SiteCollector(poller))
    text = generate_latest(registry).decode()
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def value(samples: dict, name: str, **labels: str) -> float | None:
    found = [v for got, v in samples.get(name, []) if all(got.get(k) == w for k, w in labels.items())]
    assert len(found) <= 1, (name, labels, found)
    return found[0] if found else None


def test_every_owned_class_with_its_intent(compiled: tuple[Any, Any]) -> None:
    _, compilation = compiled
    classes = {(c.device, c.interface, c.classid): c.intent for c in owned_classes(compilation)}
    minor = next(q.minor for p in compilation.models["core1"].egress for q in p.classes)
    assert classes[("core1", "eth2", f"1:{minor:x}")] == "video-10-20"
    assert classes[("core1", "eth2", "1:1")] == "(root)" and classes[("core1", "eth2", "1:2")] == "(default)"
    assert classes[("acc1", "eth0", f"1:{minor:x}")] == "video-10-20"
    assert classes[("core1", "br30", "1:1")] == "cap-guest" and classes[("core1", "ifb30", "1:1")] == "cap-guest"


def test_metrics_and_compliance_per_intent(compiled: tuple[Any, Any]) -> None:
    site, compilation = compiled
    devices = FakeDevices(compilation)
    poller = Poller(site, compilation, devices.read, timeout=5)
    poller.poll()
    samples = scrape(poller)
    minor = next(q.minor for p in compilation.models["core1"].egress for q in p.classes)
    video = {"intent": "video-10-20", "device": "core1", "interface": "eth2", "class": f"1:{minor:x}"}
    assert value(samples, "intent_class_bytes_total", **video) == 1000
    assert value(samples, "intent_class_packets_total", **video) == 10
    assert value(samples, "intent_class_drops_total", **video) == 1
    assert value(samples, "intent_class_overlimits_total", **video) == 2
    assert value(samples, "intent_class_rate_bits_per_second", **video) == 30_000_000
    assert value(samples, "intent_interface_capacity_bits_per_second", device="core1", interface="eth2") == 1e9
    assert value(samples, "intent_interface_reserved_bits_per_second", device="core1", interface="eth2") == 30e6
    assert value(samples, "intent_interface_reservable_bits_per_second", device="core1", interface="eth2") == 900e6
    for device in ("core1", "acc1", "acc2"):
        assert value(samples, "intent_device_up", device=device, platform="linux") == 1
        assert value(samples, "intent_device_last_read_timestamp_seconds", device=device) > time.time() - 60
    assert {labels["intent"] for labels, v in samples["intent_device_compliant"] if v == 1} == \
        {"users", "video", "guest", "video-10-20", "cap-guest"}
    assert all(v == 1 for _, v in samples["intent_compliant"]) and len(samples["intent_compliant"]) == 5

    # delete the guarantee's class (and its leaf and filters, as the kernel would) on core1
    document = devices.documents["core1"]
    classid = f"1:{minor:x}"
    document["classes"] = [c for c in document["classes"] if not (c["dev"] == "eth2" and c["classid"] == classid)]
    document["qdiscs"] = [q for q in document["qdiscs"] if not (q["dev"] == "eth2" and q["parent"] == classid)]
    document["filters"] = [f for f in document["filters"] if not (f["dev"] == "eth2" and f["flowid"] == classid)]
    devices.bytes = 5000
    poller.poll()
    samples = scrape(poller)
    assert value(samples, "intent_device_compliant", intent="video-10-20", device="core1") == 0
    assert value(samples, "intent_device_compliant", intent="video-10-20", device="acc1") == 1
    assert value(samples, "intent_device_compliant", intent="users", device="core1") == 1  # not what drifted
    assert value(samples, "intent_device_compliant", intent="cap-guest", device="core1") == 1
    assert value(samples, "intent_compliant", intent="video-10-20") == 0
    assert value(samples, "intent_compliant", intent="users") == 1
    assert value(samples, "intent_class_bytes_total", **video) is None  # the class is gone from the device
    assert value(samples, "intent_class_bytes_total", **{**video, "device": "acc1", "interface": "eth0"}) == 5000

    # the VLAN 30 bridge goes: guest and its cap are broken, the guarantee is not
    document["links"] = [link for link in document["links"] if link["name"] != "br30"]
    poller.poll()
    samples = scrape(poller)
    assert value(samples, "intent_device_compliant", intent="guest", device="core1") == 0
    assert value(samples, "intent_device_compliant", intent="users", device="core1") == 1


def test_a_failing_or_hanging_device_is_down_and_the_rest_goes_on(compiled: tuple[Any, Any]) -> None:
    site, compilation = compiled
    devices = FakeDevices(compilation)
    devices.failing["acc1"] = ConnectError("acc1", "cannot enter network namespace acc1")
    devices.hanging.add("acc2")
    poller = Poller(site, compilation, devices.read, timeout=0.5)
    try:
        began = time.monotonic()
        poller.poll()
        # bounded by the 0.5 s timeout, not by the hanging device's 30 s (half of which is room for a loaded machine)
        assert time.monotonic() - began < 15
        samples = scrape(poller)
        assert value(samples, "intent_device_up", device="acc1", platform="linux") == 0
        assert value(samples, "intent_device_up", device="acc2", platform="linux") == 0
        assert value(samples, "intent_device_up", device="core1", platform="linux") == 1
        assert value(samples, "intent_device_read_failures_total", device="acc2") == 1
        assert value(samples, "intent_device_last_read_timestamp_seconds", device="acc1") is None
        assert value(samples, "intent_device_compliant", intent="users", device="acc1") is None  # unknown
        assert value(samples, "intent_device_compliant", intent="users", device="core1") == 1
        assert value(samples, "intent_compliant", intent="users") is None  # acc1 unread, no drift seen
        assert "cannot enter network namespace" in poller.snapshot()["acc1"].error
        poller.poll()  # acc2 still hangs: not read twice at once
        assert "previous read is still running" in poller.snapshot()["acc2"].error
        devices.garbage.add("core1")
        poller.poll()  # core1 answers something that is not a Linux state: down, not a crash
        assert "unreadable state" in poller.snapshot()["core1"].error
        assert not poller.snapshot()["core1"].up
        devices.garbage.clear()
        devices.failing["core1"] = RuntimeError("a driver bug")
        poller.poll()
        assert "RuntimeError: a driver bug" in poller.snapshot()["core1"].error
        assert value(scrape(poller), "intent_device_up", device="core1", platform="linux") == 0
        assert poller.snapshot()["core1"].read_at is not None  # the last good read is still known
    finally:
        devices.release.set()
        poller.close()


def test_listen_addresses() -> None:
    assert parse_listen("127.0.0.1:9471") == ("127.0.0.1", 9471)
    assert parse_listen("[::1]:9100") == ("::1", 9100)
    assert parse_listen(":9471") == ("0.0.0.0", 9471)
    for bad in ("localhost", "1.2.3.4:http", "1.2.3.4:70000"):
        with pytest.raises(Exception, match="expected HOST:PORT"):
            parse_listen(bad)


def test_bad_listen_is_a_message(site_dir: SiteDir) -> None:
    result = run_intent("exporter", str(site_dir.site), "--listen", "nowhere")
    assert result.returncode == 1 and "expected HOST:PORT" in result.stderr and "Traceback" not in result.stderr


def test_the_dashboard_uses_the_exported_metrics() -> None:
    from engine.exporter import METRICS

    dashboard = json.loads((Path(__file__).parent.parent / "examples" / "grafana-dashboard.json").read_text())
    expressions = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    used = {name for expr in expressions for name in re.findall(r"\bintent_[a-z_]+", expr)}
    assert used and used <= set(METRICS), used - set(METRICS)
    assert {"intent_class_bytes_total", "intent_device_compliant", "intent_device_up"} <= used


def _metrics(port: int) -> dict[str, list[tuple[dict[str, str], float]]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def test_the_exporter_process_serves_on_while_devices_fail(tmp_path: Path) -> None:
    """Remote Linux devices over SSH: one refuses the connection, one accepts and never says a word."""
    closed = _free_port()
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    site = SiteDir(tmp_path)
    site.write("inventory.yaml", f"""\
        all:
          vars: {{platform: linux, username: netops, password_env: EXPORTER_PW}}
          hosts:
            refusing: {{host: 127.0.0.1, port: {closed}}}
            silent: {{host: 127.0.0.1, port: {silent.getsockname()[1]}}}
        """)
    site.write("topology.yaml", "links:\n  - {a: refusing:eth0, b: silent:eth0, bandwidth: 1Gbps}\n")
    site.write("site.yaml", "site: down\ninventory: inventory.yaml\ntopology: topology.yaml\nintents: []\n")
    port = next(free for free in _free_ports(2) if free != closed)
    process = subprocess.Popen([str(INTENT), "exporter", str(site.site), "--listen", f"127.0.0.1:{port}",
                                "--interval", "0.5", "--timeout", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env={**os.environ, "EXPORTER_PW": "x",
                                               "INTENT_KNOWN_HOSTS": str(tmp_path / "known_hosts")})
    try:
        samples: dict = {}
        deadline = time.monotonic() + 60  # two rounds take 2-3 s; the start of the program, under load, more
        while time.monotonic() < deadline:
            try:
                samples = _metrics(port)
                if (value(samples, "intent_device_read_failures_total", device="silent") or 0) >= 2:
                    break
            except OSError:
                pass
            time.sleep(0.3)
        assert process.poll() is None  # still serving
        assert value(samples, "intent_device_up", device="refusing", platform="linux") == 0
        assert value(samples, "intent_device_up", device="silent", platform="linux") == 0
        assert value(samples, "intent_device_read_failures_total", device="refusing") >= 2
        assert value(samples, "intent_device_read_failures_total", device="silent") >= 2
        assert value(samples, "intent_device_last_read_timestamp_seconds", device="refusing") is None
    finally:
        began = time.monotonic()
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=15)
        silent.close()
    assert process.returncode == 0, err
    assert time.monotonic() - began < 5  # a hanging read does not hold the exit
    assert "Traceback" not in err and "refusing:" in err and "no answer within 1s" in err


# -- a real Prometheus scraping the exporter on the lab ------------------------------------------------

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: network namespaces and traffic")
PROMETHEUS = shutil.which("prometheus")
INTERVAL = 2.0  # the exporter's


def _free_port() -> int:
    return _free_ports(1)[0]


def _free_ports(count: int) -> list[int]:
    """Ports nothing listens on, all different (held together while the kernel picks them). As root each
    pytest-xdist worker has a network namespace of its own, so no other test can take them meanwhile."""
    with contextlib.ExitStack() as held:
        sockets = [held.enter_context(socket.socket()) for _ in range(count)]
        for probe in sockets:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in sockets]


class PromServer:
    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def query(self, expr: str) -> list[dict[str, Any]]:
        url = f"{self.base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.loads(response.read())
        assert body["status"] == "success", body
        return list(body["data"]["result"])

    def scalar(self, expr: str) -> float | None:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None

    def wait(self, expr: str, predicate: Any, seconds: float) -> tuple[float | None, float]:
        """Poll until predicate(value) holds; returns (value, seconds waited)."""
        began = time.monotonic()
        got = None
        while time.monotonic() - began < seconds:
            got = self.scalar(expr)
            if got is not None and predicate(got):
                return got, time.monotonic() - began
            time.sleep(0.2)
        return got, time.monotonic() - began


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture
def scraped(tmp_path: Path) -> Iterator[tuple[Lab, PromServer, Path]]:
    if PROMETHEUS is None:
        pytest.skip("Debian's prometheus is not installed (make install installs it)")
    with running_lab(tmp_path, SITE, apply=True) as lab:
        exporter_port, prom_port = _free_ports(2)
        log = (tmp_path / "exporter.log").open("wb")
        exporter = subprocess.Popen([str(INTENT), "exporter", str(lab.site), "--listen", f"127.0.0.1:{exporter_port}",
                                     "--interval", str(INTERVAL), "--timeout", "5"],
                                    env={**os.environ, "INTENT_STATE_DIR": str(lab.root / "state")},
                                    stdout=log, stderr=subprocess.STDOUT)
        config = tmp_path / "prometheus.yml"
        config.write_text(f"""\
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  evaluation_interval: 1s
scrape_configs:
  - job_name: intent
    static_configs:
      - targets: ["127.0.0.1:{exporter_port}"]
""")
        prom_log = (tmp_path / "prometheus.log").open("wb")
        prometheus = subprocess.Popen([PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                                       f"--web.listen-address=127.0.0.1:{prom_port}", "--storage.tsdb.retention.time=1h"],
                                      stdout=prom_log, stderr=subprocess.STDOUT)
        try:
            server = PromServer(prom_port)
            up, _ = _wait_ready(server, 'up{job="intent"}', 90)  # two programs starting: seconds, on a loaded machine more
            assert up == 1, (tmp_path / "exporter.log").read_text() + (tmp_path / "prometheus.log").read_text()
            yield lab, server, tmp_path
        finally:
            _stop(exporter)
            _stop(prometheus)
            log.close()
            prom_log.close()
        assert exporter.returncode == 0, (tmp_path / "exporter.log").read_text()


def _wait_ready(server: PromServer, expr: str, seconds: float) -> tuple[float | None, float]:
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        try:
            got = server.scalar(expr)
            if got == 1:
                return got, time.monotonic() - began
        except OSError:
            pass
        time.sleep(0.3)
    return None, time.monotonic() - began


def _wait_listening(netns: str, port: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if subprocess.run(["ip", "netns", "exec", netns, "ss", "-Hltn", f"sport = :{port}"],
                          capture_output=True, text=True).stdout.strip():
            return
        time.sleep(0.1)
    raise AssertionError(f"iperf3 server in {netns} did not listen on {port} within {seconds}s")


@root_only
@pytest.mark.measures
def test_prometheus_sees_the_counters_rise_and_the_compliance_drop(scraped: tuple[Lab, PromServer, Path]) -> None:
    lab, prom, tmp_path = scraped
    site = load_site(lab.site)
    minor = next(q.minor for p in compile_site(site).models["core1"].egress for q in p.classes)
    classid = f"1:{minor:x}"
    selector = f'intent="video-10-20",device="core1",interface="eth2",class="{classid}"'
    before, _ = prom.wait(f"intent_class_bytes_total{{{selector}}}", lambda v: True, 30)  # the exporter's first read
    assert before is not None, prom.query("intent_class_bytes_total")
    compliant = 'intent_device_compliant{intent="video-10-20",device="core1"}'
    assert prom.wait(compliant, lambda v: v == 1, 10)[0] == 1
    assert prom.scalar('intent_device_up{device="core1"}') == 1

    # guaranteed traffic (AF41, VLAN 10 -> VLAN 20) for 10 seconds: core1 eth2 carries it towards acc2
    server = subprocess.Popen(["ip", "netns", "exec", "h-acc2-eth3", "iperf3", "-s", "-1", "-p", "5201"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = None
    client_log = tmp_path / "iperf3-client.log"
    try:
        _wait_listening("h-acc2-eth3", 5201, 15)  # a fixed sleep is not enough on a loaded machine
        with client_log.open("wb") as log:
            client = subprocess.Popen(["ip", "netns", "exec", "h-acc1-eth3", "iperf3", "-c", "10.20.0.2", "-p", "5201",
                                       "-t", "10", "-S", "0x88", "-b", "20M"], stdout=log, stderr=subprocess.STDOUT)
        during, _ = prom.wait(f"intent_class_bytes_total{{{selector}}}", lambda v: v - before > 2_000_000, 8)
        assert client.poll() is None, "the traffic ended before Prometheus saw the counter rise:\n" + \
            client_log.read_text()
        assert during is not None and during - before > 2_000_000, (before, during)
        code = client.wait(timeout=40)
        assert code == 0, f"iperf3 client exit {code}:\n{client_log.read_text()}\nnamespaces now: " + \
            subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    finally:
        for process in (client, server):
            if process is not None and process.poll() is None:
                process.terminate()
            if process is not None:
                process.wait(timeout=10)
    after, _ = prom.wait(f"intent_class_bytes_total{{{selector}}}", lambda v: v - before > 15_000_000,
                         3 * INTERVAL + 2)
    assert after is not None and after - before > 15_000_000, (before, after)  # 10 s at 20 Mbit/s is 25 MB
    packets = prom.scalar(f"increase(intent_class_packets_total{{{selector}}}[30s])")
    assert packets is not None and packets > 3000

    # delete the guarantee's class by hand: its filters first (the kernel refuses a class in use)
    pref = lab.sh("core1", "tc", "filter", "show", "dev", "eth2").split("pref ")[1].split()[0]
    lab.sh("core1", "tc", "filter", "del", "dev", "eth2", "parent", "1:", "pref", pref, "protocol", "ip", "u32")
    lab.sh("core1", "tc", "class", "del", "dev", "eth2", "classid", classid)
    dropped, waited = prom.wait(compliant, lambda v: v == 0, 2 * INTERVAL + 1.5)
    assert dropped == 0, f"still {dropped} after {waited:.1f}s"
    assert waited <= 2 * INTERVAL + 1.0  # two exporter intervals, plus one 1 s scrape
    (tmp_path / "drop-seconds").write_text(f"{waited:.2f}\n")
    assert prom.scalar('intent_device_compliant{intent="users",device="core1"}') == 1
    assert prom.scalar('intent_compliant{intent="video-10-20"}') == 0
    assert prom.scalar('intent_device_compliant{intent="video-10-20",device="acc1"}') == 1
    print(f"compliance dropped {waited:.2f}s after the class was deleted", file=sys.stderr)
    dashboard = json.loads((Path(__file__).parent.parent / "examples" / "grafana-dashboard.json").read_text())
    for panel in dashboard["panels"]:
        for target in panel["targets"]:  # every query of the dashboard runs on the real server and finds series
            assert prom.query(target["expr"]), target["expr"]


def test_a_one_vlan_link_kept_a_trunk_is_compliant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The campus without video and guest: core1-dist1 carries VLAN 10 only and stays the trunk dist1
    runs (engine.plan.keep_link_modes); dist1 read back as applied is compliant, judged alone."""
    from engine import cliconfig
    from engine.exporter import compliance
    from engine.loader import load_site
    from engine.plan import RunningState, make_plan
    from engine.render import platform_spec
    from tests.faults.test_example_sites import without

    monkeypatch.setenv("CAMPUS_PASSWORD", "not-read-offline")
    campus = ROOT / "examples" / "campus"
    text = (campus / "site.yaml").read_text().replace("inventory: ../../", f"inventory: {ROOT}/").replace(
        "topology: topology.yaml", f"topology: {campus / 'topology.yaml'}")
    (tmp_path / "site.yaml").write_text(without(text, {"video", "guest", "video-10-20", "cap-guest"}))
    site = load_site(tmp_path / "site.yaml")
    compilation = compile_site(site)
    make_plan(site, compilation, RunningState(campus / "running"))  # keeps dist1's trunk in compilation
    syntax = platform_spec("nxos").syntax
    assert syntax is not None and "interface Ethernet1/1\n switchport\n switchport mode trunk\n switchport trunk allowed vlan 10\n" \
        in compilation.configs["dist1"].text
    running = (campus / "running" / "dist1.cfg").read_text()
    applied = cliconfig.render(cliconfig.merge(cliconfig.parse(running, syntax),
                                               cliconfig.parse(compilation.configs["dist1"].text, syntax), syntax), syntax)
    judged = compliance(site, compile_site(site), "dist1", applied)
    assert judged and all(judged.values()), judged
