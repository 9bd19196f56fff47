"""intent exporter: a site's live state as Prometheus metrics.

A ``Poller`` reads every device of the site once per interval, in parallel, each read bounded by a
timeout: the running state (is the device still what its intents say? per intent) and, where the
driver has them, the counters of every HTB class intent owns. Scrapes are answered from the last
reading and never wait for a device. A device that fails or does not answer in time is
``intent_device_up 0``; the exporter goes on. Metric names: see ``METRICS`` (and the README).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from concurrent.futures import wait as wait_for
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from engine import linux
from engine.compiler import Compilation
from engine.device import DeviceModel
from engine.errors import IntentError
from engine.frozen import frozen
from engine.model import Site
from engine.plan import make_plan

log = logging.getLogger("intent.exporter")

CLASS_LABELS = ("intent", "device", "interface", "class")
ROOT_MINOR, DEFAULT_MINOR = linux.ROOT_MINOR, linux.DEFAULT_MINOR

METRICS = {
    "intent_class_bytes_total": "Bytes sent by an HTB class intent owns (counter; labels intent, device, interface, class)",
    "intent_class_packets_total": "Packets sent by an HTB class intent owns",
    "intent_class_drops_total": "Packets an HTB class intent owns dropped",
    "intent_class_overlimits_total": "Times an HTB class intent owns was over its rate (overlimits)",
    "intent_class_rate_bits_per_second": "Rate the class is configured to guarantee",
    "intent_class_ceil_bits_per_second": "Rate the class may borrow up to",
    "intent_interface_capacity_bits_per_second": "Bandwidth of an egress interface that carries a guarantee",
    "intent_interface_reservable_bits_per_second": "Share of it guarantees may reserve (defaults.reservable)",
    "intent_interface_reserved_bits_per_second": "What the site's guarantees reserve on it",
    "intent_device_compliant": "1 when the device still matches the intent, 0 on drift (labels intent, device)",
    "intent_compliant": "1 when every device of the intent matches it, 0 when any drifted",
    "intent_device_up": "1 when the last read of the device succeeded, else 0",
    "intent_device_last_read_timestamp_seconds": "Unix time of the device's last successful read",
    "intent_device_read_duration_seconds": "How long the device's last read took",
    "intent_device_read_failures_total": "Reads of the device that failed or timed out",
}


@frozen
class OwnedClass:
    device: str
    interface: str
    classid: str  # "1:338c"
    intent: str  # the intent, or "(root)" / "(default)" for the classes every egress policy has
    rate_bps: int
    ceil_bps: int


@frozen
class DeviceState:
    """What one read of a device returns: its running state as text, and class counters (may be empty)."""

    running: str
    class_stats: tuple[dict[str, Any], ...] = ()


@dataclass
class DeviceReading:
    device: str
    up: bool = False
    error: str = ""
    read_at: float | None = None  # last successful read
    duration: float = 0.0
    failures: int = 0
    counters: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)  # (interface, classid) -> counters
    compliant: dict[str, bool] = field(default_factory=dict)  # intent -> still matches


Reader = Callable[[str], DeviceState]  # device name -> its state; raises on failure


def owned_classes(compilation: Compilation) -> list[OwnedClass]:
    """Every HTB class the desired state of a device creates, with the intent it belongs to."""
    found = []
    for name, config in sorted(compilation.configs.items()):
        if config.document is None:
            continue
        model = compilation.models.get(name)
        owner = _minor_owners(model) if model else {}
        limits = {f"{prefix}{limit.vlan}": limit.intent for limit in (model.limits if model else ())
                  for prefix in ("br", "ifb")}
        for obj in config.document.get("classes") or []:
            minor = int(obj["classid"].split(":")[1], 16)
            intent = limits.get(obj["dev"]) or owner.get(minor) or \
                {ROOT_MINOR: "(root)", DEFAULT_MINOR: "(default)"}.get(minor, "")
            found.append(OwnedClass(name, obj["dev"], obj["classid"], intent, int(obj["rate"]), int(obj["ceil"])))
    return found


def _minor_owners(model: DeviceModel) -> dict[int, str]:
    return {qos.minor: qos.intent for policy in model.egress for qos in policy.classes}


_FLOWID = re.compile(r"flowid 1:([0-9a-f]+)")


def owners(key: str, model: DeviceModel) -> set[str]:
    """The intents a Linux state object (by its key, engine.linux.key_of) belongs to; an object that
    serves every intent of an interface or device (root qdisc, port, sysctl) belongs to all of them."""
    minors = _minor_owners(model)
    per_interface: dict[str, set[str]] = {}
    for policy in model.egress:
        per_interface.setdefault(policy.interface, set()).update(q.intent for q in policy.classes)
    vlans = {v.id: v.intent for v in model.vlans}
    limits = {limit.vlan: limit.intent for limit in model.limits}
    routes = {route.prefix: route.intent for route in model.routes}
    words = key.split()
    section, name = words[0], words[1] if len(words) > 1 else ""
    if section == "route" and name in routes:
        return {routes[name]}
    if section in ("qdisc", "class", "filter"):
        handle = _FLOWID.search(key)
        minor_text = handle.group(1) if handle else words[2].split(":")[1] if ":" in words[2] else ""
        if minor_text and int(minor_text, 16) in minors and int(minor_text, 16) not in (ROOT_MINOR, DEFAULT_MINOR):
            return {minors[int(minor_text, 16)]}
        for prefix in ("ifb", "br"):
            if name.startswith(prefix) and name[len(prefix):].isdigit() and int(name[len(prefix):]) in limits:
                return {limits[int(name[len(prefix):])]}
        if name in per_interface:
            return per_interface[name]
    if section in ("link", "create", "address"):
        match = re.fullmatch(r"(?:br(\d+)|ifb(\d+)|.+\.(\d+))", name)
        if match:
            vid = int(next(g for g in match.groups() if g))
            if name.startswith("ifb") and vid in limits:
                return {limits[vid]}
            if vid in vlans:
                return {vlans[vid]}
    return set(model.intents)


def compliance(site: Site, compilation: Compilation, device: str, running: str) -> dict[str, bool]:
    """Intent -> does ``device`` still match it. A Linux device is judged object by object; on a CLI
    device any drift counts against every intent there (its config lines carry no owner)."""
    model = compilation.models[device]
    config = compilation.configs[device]
    single = Compilation({device: model}, {device: config}, (), compilation.vlans_per_link)  # link modes kept
    planned = make_plan(site, single, _Texts({device: running})).devices[device]
    if not planned.changed:
        return {intent: True for intent in model.intents}
    if config.document is None:
        return {intent: False for intent in model.intents}
    drifted = _drifted_keys(json.loads(running), config.document)
    bad = set().union(*(owners(key, model) for key in drifted)) if drifted else set(model.intents)
    return {intent: intent not in bad for intent in model.intents}


def _drifted_keys(running: dict[str, Any], desired: dict[str, Any]) -> set[str]:
    wanted = dict(linux.objects(desired))
    have = dict(linux.objects(linux.in_scope(running, desired)))
    return {key for key, line in wanted.items() if have.get(key) != line} | {key for key in have if key not in wanted}


@dataclass
class _Texts:
    texts: dict[str, str]
    directory: str = "live devices"

    def read(self, device: str, platform: str) -> str | None:
        return self.texts.get(device)


class Poller:
    """Reads every device of the site in parallel, each bounded by ``timeout`` seconds."""

    def __init__(self, site: Site, compilation: Compilation, read: Reader, timeout: float = 10.0, parallel: int = 8,
                 clock: Callable[[], float] = time.time) -> None:
        self.site, self.compilation, self._read = site, compilation, read
        self.timeout, self.clock = timeout, clock
        self.devices = sorted(compilation.configs)
        self.classes = owned_classes(compilation)
        self.readings = {name: DeviceReading(name) for name in self.devices}
        self._slots = threading.BoundedSemaphore(max(1, parallel))
        self._inflight: dict[str, Future[DeviceState]] = {}
        self._lock = threading.Lock()
        self.polls = 0

    def poll(self) -> None:
        """One round: every device whose previous read has finished is read again."""
        started = self.clock()
        submitted: dict[str, tuple[Future[DeviceState], float]] = {}
        for name in self.devices:
            previous = self._inflight.get(name)
            if previous is not None and not previous.done():
                self._failed(name, f"the previous read is still running after {self.clock() - started:.0f}s", 0.0)
                continue
            submitted[name] = (self._start(name), time.monotonic())
            self._inflight[name] = submitted[name][0]
        wait_for([f for f, _ in submitted.values()], timeout=self.timeout)
        for name, (future, began) in submitted.items():
            took = time.monotonic() - began
            if not future.done():
                self._failed(name, f"no answer within {self.timeout:g}s", took)
                continue
            error = future.exception()
            if error is not None:
                message = str(error) if isinstance(error, IntentError) else f"{type(error).__name__}: {error}"
                self._failed(name, message, took)
                continue
            try:
                self._succeeded(name, future.result(), took)
            except Exception as exc:  # noqa: BLE001 - an answer this exporter cannot judge: the device is down
                self._failed(name, f"unreadable state: {exc if isinstance(exc, IntentError) else repr(exc)}", took)
        self.polls += 1

    def _start(self, name: str) -> Future[DeviceState]:
        """Read ``name`` on a daemon thread (at most ``parallel`` at once): a device that never answers
        holds its thread, never the poller, nor the exporter's exit."""
        future: Future[DeviceState] = Future()

        def work() -> None:
            with self._slots:
                if not future.set_running_or_notify_cancel():
                    return
                try:
                    future.set_result(self._read(name))
                except BaseException as exc:  # noqa: BLE001 - judged by poll(): the device is down
                    future.set_exception(exc)

        threading.Thread(target=work, name=f"intent-read-{name}", daemon=True).start()
        return future

    def _failed(self, name: str, error: str, took: float) -> None:
        with self._lock:
            reading = self.readings[name]
            if reading.up or reading.error != error or not reading.failures:  # say it once, not every round
                log.warning("%s", error if error.startswith(f"{name}:") else f"{name}: {error}")
            reading.up, reading.error, reading.duration = False, error, took
            reading.failures += 1
            reading.compliant = {}

    def _succeeded(self, name: str, state: DeviceState, took: float) -> None:
        compliant = compliance(self.site, self.compilation, name, state.running)
        owned = {(c.interface, c.classid) for c in self.classes if c.device == name}
        counters = {(s["dev"], s["classid"]): {k: int(s[k]) for k in ("bytes", "packets", "drops", "overlimits")}
                    for s in state.class_stats if (s["dev"], s["classid"]) in owned}
        with self._lock:
            reading = self.readings[name]
            if not reading.up and reading.failures:
                log.info("%s: read again after %d failed reads", name, reading.failures)
            reading.up, reading.error, reading.duration = True, "", took
            reading.read_at = self.clock()
            reading.counters, reading.compliant = counters, compliant

    def snapshot(self) -> dict[str, DeviceReading]:
        with self._lock:
            return {name: DeviceReading(r.device, r.up, r.error, r.read_at, r.duration, r.failures, dict(r.counters),
                                        dict(r.compliant)) for name, r in self.readings.items()}

    def close(self) -> None:
        """Cancel reads still waiting for a slot; running ones end with the process (daemon threads)."""
        for future in self._inflight.values():
            future.cancel()

    def run(self, interval: float, stop: threading.Event) -> None:
        """Poll every ``interval`` seconds until ``stop`` is set."""
        while not stop.is_set():
            began = time.monotonic()
            try:
                self.poll()
            except Exception:  # noqa: BLE001 - a bug in one round must not end the exporter
                log.exception("poll failed; trying again next interval")
            stop.wait(max(0.0, interval - (time.monotonic() - began)))


class SiteCollector(Collector):
    """Turns the poller's last readings into metric families at each scrape."""

    def __init__(self, poller: Poller) -> None:
        self.poller = poller

    def collect(self) -> Iterable[Metric]:
        return list(self._families())

    def _families(self) -> Iterator[Metric]:
        readings = self.poller.snapshot()
        compilation = self.poller.compilation
        counters = {field_: CounterMetricFamily(f"intent_class_{field_}", METRICS[f"intent_class_{field_}_total"],
                                                labels=CLASS_LABELS)
                    for field_ in ("bytes", "packets", "drops", "overlimits")}
        rate = GaugeMetricFamily("intent_class_rate_bits_per_second", METRICS["intent_class_rate_bits_per_second"],
                                 labels=CLASS_LABELS)
        ceil = GaugeMetricFamily("intent_class_ceil_bits_per_second", METRICS["intent_class_ceil_bits_per_second"],
                                 labels=CLASS_LABELS)
        for owned in self.poller.classes:
            labels = [owned.intent, owned.device, owned.interface, owned.classid]
            rate.add_metric(labels, owned.rate_bps)
            ceil.add_metric(labels, owned.ceil_bps)
            reading = readings[owned.device]
            values = reading.counters.get((owned.interface, owned.classid)) if reading.up else None
            if values is not None:
                for field_, family in counters.items():
                    family.add_metric(labels, values[field_])
        yield from counters.values()
        yield from (rate, ceil)
        interface = ("device", "interface")
        capacity, reservable, reserved = (
            GaugeMetricFamily(f"intent_interface_{what}_bits_per_second",
                              METRICS[f"intent_interface_{what}_bits_per_second"], labels=interface)
            for what in ("capacity", "reservable", "reserved"))
        for r in compilation.reservations:
            capacity.add_metric([r.device, r.interface], r.capacity_bps)
            reservable.add_metric([r.device, r.interface], r.reservable_bps)
            reserved.add_metric([r.device, r.interface], r.reserved_bps)
        yield from (capacity, reservable, reserved)
        per_device = GaugeMetricFamily("intent_device_compliant", METRICS["intent_device_compliant"],
                                       labels=("intent", "device"))
        per_intent = GaugeMetricFamily("intent_compliant", METRICS["intent_compliant"], labels=("intent",))
        verdicts: dict[str, list[bool | None]] = {}
        for name, model in sorted(compilation.models.items()):
            device_reading = readings.get(name)
            for intent in model.intents:
                verdict = device_reading.compliant.get(intent) if device_reading is not None and device_reading.up \
                    else None
                verdicts.setdefault(intent, []).append(verdict)
                if verdict is not None:
                    per_device.add_metric([intent, name], 1 if verdict else 0)
        for intent in (i.name for i in self.poller.site.intents):
            seen = verdicts.get(intent, [])
            if any(v is False for v in seen):
                per_intent.add_metric([intent], 0)
            elif seen and all(v is True for v in seen):
                per_intent.add_metric([intent], 1)  # unknown (a device unread) and no drift seen: no sample
        yield from (per_device, per_intent)
        up = GaugeMetricFamily("intent_device_up", METRICS["intent_device_up"], labels=("device", "platform"))
        last = GaugeMetricFamily("intent_device_last_read_timestamp_seconds",
                                 METRICS["intent_device_last_read_timestamp_seconds"], labels=("device",))
        took = GaugeMetricFamily("intent_device_read_duration_seconds", METRICS["intent_device_read_duration_seconds"],
                                 labels=("device",))
        failures = CounterMetricFamily("intent_device_read_failures", METRICS["intent_device_read_failures_total"],
                                       labels=("device",))
        for name, reading in sorted(readings.items()):
            up.add_metric([name, compilation.configs[name].platform], 1 if reading.up else 0)
            if reading.read_at is not None:
                last.add_metric([name], reading.read_at)
            took.add_metric([name], reading.duration)
            failures.add_metric([name], reading.failures)
        yield from (up, last, took, failures)


def live_reader(site: Site, compilation: Compilation, state: Any, connection: Any) -> Reader:
    """Reads a device through its driver: running state, and class counters on the owned interfaces."""
    from engine.transaction import open_driver

    interfaces: dict[str, list[str]] = {}
    for owned in owned_classes(compilation):
        if owned.interface not in interfaces.setdefault(owned.device, []):
            interfaces[owned.device].append(owned.interface)

    def read(name: str) -> DeviceState:
        with open_driver(site.devices[name], state, connection) as driver:
            running = driver.get_running()
            stats = getattr(driver, "class_stats", None)
            found = stats(interfaces[name]) if stats is not None and interfaces.get(name) else []
        return DeviceState(running, tuple(found))

    return read


def parse_listen(listen: str) -> tuple[str, int]:
    """``127.0.0.1:9471``, ``[::1]:9471`` or ``:9471`` (all addresses) -> (host, port)."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise IntentError(f"--listen {listen}: expected HOST:PORT, e.g. 127.0.0.1:9471")
    return host.strip("[]") or "0.0.0.0", int(port)


def serve(poller: Poller, listen: str, interval: float, stop: threading.Event,
          ready: Callable[[str, int], None] = lambda host, port: None) -> None:
    """Serve /metrics on ``listen`` and poll every ``interval`` seconds until ``stop`` is set."""
    from prometheus_client import start_http_server
    from prometheus_client.registry import CollectorRegistry

    host, port = parse_listen(listen)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SiteCollector(poller))
    try:
        server, thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise IntentError(f"--listen {listen}: {exc.strerror or exc}") from None
    ready(host, port)
    try:
        poller.run(interval, stop)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        poller.close()
