"""Real traffic between lab hosts with iperf3, to measure what a class gets (intent verify)."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from typing import Any

from engine.checks import Check, Flow, Host, Probe
from engine.errors import DriverError

OMIT_SECONDS = 1  # TCP slow start is not what we measure


def _address(host: Any) -> str:
    return str(host.address).split("/")[0]


def measure(check: Check, seconds: int = 5) -> dict[str, int]:
    """Run the check's flows at once; return what each receiver got, in bits per second."""
    flows = [check.measured, *check.competing]
    servers = []
    try:
        for flow in flows:
            servers.append(subprocess.Popen(
                ["ip", "netns", "exec", flow.destination.netns, "iperf3", "-s", "-1", "-p", str(flow.port)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for flow in flows:
            _wait_listening(flow)
        clients = {flow.name: subprocess.Popen(_client(flow, seconds), stdout=subprocess.PIPE,
                                               stderr=subprocess.PIPE, text=True) for flow in flows}
        results: dict[str, int] = {}
        for name, client in clients.items():
            out, err = client.communicate(timeout=seconds + 30)
            results[name] = _received(name, out, err)
        return results
    finally:
        for server in servers:
            server.kill()
            server.wait()


def _client(flow: Flow, seconds: int) -> list[str]:
    command = ["ip", "netns", "exec", flow.source.netns, "iperf3", "-c", _address(flow.destination), "-p",
               str(flow.port), "-t", str(seconds + OMIT_SECONDS), "-O", str(OMIT_SECONDS), "-J",
               "-P", str(flow.streams)]
    if flow.tos:
        command += ["--tos", str(flow.tos)]
    if flow.protocol == "udp":
        command += ["-u", "-b", str(flow.udp_rate_bps)]
    return command


def _received(name: str, out: str, err: str) -> int:
    try:
        report = json.loads(out)
    except json.JSONDecodeError:
        raise DriverError("lab", f"iperf3 for {name} gave no report: {err.strip() or out.strip()[:200]}") from None
    if "error" in report:
        raise DriverError("lab", f"iperf3 for {name}: {report['error']}")
    end = report["end"]
    if "sum_received" in end:
        return int(end["sum_received"]["bits_per_second"])
    total = end["sum"]  # udp: what arrived is what was sent less what was lost
    return int(total["bits_per_second"] * (1 - total.get("lost_percent", 0) / 100))


def _wait_listening(flow: Flow, timeout: float = 5.0) -> None:
    """The server is up when its namespace has a socket listening on the port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(["ip", "netns", "exec", flow.destination.netns, "ss", "-Hltn", f"sport = :{flow.port}"],
                             capture_output=True, text=True).stdout
        if out.strip():
            return
        time.sleep(0.05)
    raise DriverError("lab", f"iperf3 server in {flow.destination.netns} did not listen on {flow.port}")


def reach(host: Host, address: str) -> bool:
    """One ping from the lab host's namespace to ``address``."""
    return subprocess.run(["ip", "netns", "exec", host.netns, "ping", "-c", "1", "-W", "2", address],
                          capture_output=True).returncode == 0


def emulated() -> bool:
    """True under a software-emulated machine (qemu), where rates are scaled down."""
    try:
        with open("/sys/devices/virtual/dmi/id/sys_vendor") as vendor:
            return "QEMU" in vendor.read()
    except OSError:
        return socket.gethostname().startswith("virtme")


# isolate probes: a listener in the destination host, a client in the source host (python3 in both,
# which every lab host has: it is this machine's). The listener answers UDP with the datagram.
_LISTEN = """
import socket, sys
kind, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", port))
if kind == "tcp":
    s.listen(4)
print("ready", flush=True)
s.settimeout(60)  # the client's python may take seconds to start (emulated guest); a cut client fails fast
try:
    if kind == "tcp":
        conn, _ = s.accept()
        conn.close()
    else:
        data, peer = s.recvfrom(64)
        s.sendto(data, peer)
except OSError:
    pass
"""
_CONNECT = """
import socket, sys
kind, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
try:
    if kind == "tcp":
        socket.create_connection((host, port), timeout=5).close()
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(2)
        s.sendto(b"intent-probe", (host, port))
        s.recvfrom(64)
except OSError:
    sys.exit(1)
"""


def probe_reach(probe: Probe) -> bool:
    """Whether ``probe.source`` reaches ``probe.destination`` by the probe's protocol (and port)."""
    import sys

    target = _address(probe.destination)
    if probe.protocol == "icmp":
        return subprocess.run(["ip", "netns", "exec", probe.source.netns, "ping", "-c", "1", "-W", "2", target],
                              capture_output=True).returncode == 0
    listener = subprocess.Popen(["ip", "netns", "exec", probe.destination.netns, sys.executable, "-c", _LISTEN,
                                 probe.protocol, str(probe.port)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                text=True)
    try:
        assert listener.stdout is not None
        if listener.stdout.readline().strip() != "ready":
            raise DriverError("lab", f"no {probe.protocol} listener on port {probe.port} in {probe.destination.netns}")
        return subprocess.run(["ip", "netns", "exec", probe.source.netns, sys.executable, "-c", _CONNECT,
                               probe.protocol, target, str(probe.port)], capture_output=True, timeout=30).returncode == 0
    finally:
        listener.kill()
        listener.wait()
