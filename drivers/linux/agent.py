"""The remote half of the Linux driver over SSH: run as ``python3 -c <program>`` on the device.

Shipped together with ``netlink.py`` (stdlib only), so a remote host needs python3 and iproute2,
nothing else. One request per run, JSON on stdin, JSON on stdout:

    {"op": "read", "nft_table": "inet intent_isolate"}
                                         ip -j link/addr/route, ip_forward, every tc object, rule, and
                                         `nft list table` of the table intent owns ("" when absent)
    {"op": "indexes"}                    interface name -> index
    {"op": "tc", "requests": [...]}      [kind, flags, base64 body, what] sent batched over netlink
    {"op": "ip", "lines": [...]}         `ip -batch` lines, "sysctl -w name=value" lines, and
                                         "nft <script>" lines (the script goes to `nft -f -`)
    {"op": "probe", "features": [["qdisc", "drr"], ["nft", "inet"], ...]}
                                         which kernel features this host has: {"features": [true, ...]},
                                         or {"unprobed": why} where no scratch namespace can be made

The local transport uses ``probe`` and the nft helpers here too, so a namespace on this machine and a
host over SSH are probed and read by the same code.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
from typing import Any

from drivers.linux.netlink import Channel, NetlinkError, Request, class_stats, netns_socket, read_rules, read_tc  # noqa: E501 (shipped inline)


def _names() -> dict[int, str]:
    return {index: name for index, name in socket.if_nameindex()}


def _ip_json(*args: str) -> Any:
    out = subprocess.run(["ip", "-j", *args], capture_output=True, text=True, check=True).stdout
    return json.loads(out or "[]")


def _in(netns: str | None) -> list[str]:
    return ["ip", "netns", "exec", netns] if netns else []


def nft_list(table: str, netns: str | None = None) -> str:
    """``nft list table <table>`` as nft prints it, protocols as numbers (``ip protocol 115``: by name nft
    would print what this host's /etc/protocols calls it, ``l2tp``, which intent never wrote); "" when the
    table, nft or the kernel's nf_tables is absent."""
    if shutil.which("nft") is None:
        return ""
    done = subprocess.run([*_in(netns), "nft", "--numeric-protocol", "list", "table", *table.split()],
                          capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else ""


def nft_apply(script: str, netns: str | None = None) -> str:
    """Run one ``nft -f -`` transaction; "" when it applied, else what nft said."""
    if shutil.which("nft") is None:
        return "nft is not installed (Debian package nftables)"
    done = subprocess.run([*_in(netns), "nft", "-f", "-"], input=script, capture_output=True, text=True)
    return "" if done.returncode == 0 else (done.stderr.strip() or f"nft exit status {done.returncode}")


def probe(features: list[list[str]]) -> list[bool]:
    """Whether this host's kernel has each feature: ``["qdisc", kind]``, ``["link", "vlan" | kind]``,
    ``["nft", "inet"]`` (nft and nf_tables: an inet table with a forward filter chain). Each is tried
    on a scratch veth in a scratch network namespace, removed afterwards."""
    name = f"intent-probe-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], capture_output=True, check=True)
    try:
        def ok(*command: str) -> bool:
            return subprocess.run(["ip", "netns", "exec", name, *command], capture_output=True).returncode == 0

        ok("ip", "link", "add", "p0", "type", "veth", "peer", "name", "p1")
        answers = []
        for kind, what in features:
            if kind == "qdisc":
                answers.append(ok("tc", "qdisc", "add", "dev", "p0", "root", "handle", "1:", what)
                               and ok("tc", "qdisc", "del", "dev", "p0", "root"))
            elif kind == "link" and what == "vlan":
                answers.append(ok("ip", "link", "add", "link", "p0", "name", "p0.10", "type", "vlan", "id", "10")
                               and ok("ip", "link", "del", "p0.10"))
            elif kind == "link":
                answers.append(ok("ip", "link", "add", "p2", "type", what) and ok("ip", "link", "del", "p2"))
            elif kind == "nft":
                made = shutil.which("nft") is not None and nft_apply(
                    f"table {what} intent_probe {{\n  chain forward {{\n    type filter hook forward priority filter;\n"
                    f"  }}\n}}\n", name) == ""
                answers.append(made and nft_apply(f"delete table {what} intent_probe\n", name) == "")
            else:
                answers.append(False)
        return answers
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def handle(request: dict[str, Any]) -> dict[str, Any]:
    op = request["op"]
    if op == "indexes":
        return {"indexes": {name: index for index, name in _names().items()}}
    if op == "read":
        channel = Channel(netns_socket(None))
        try:
            qdiscs, classes, filters = read_tc(channel, _names())
            rules = read_rules(channel)
        finally:
            channel.close()
        with open("/proc/sys/net/ipv4/ip_forward") as forward:
            ip_forward = forward.read().strip()
        return {"links": _ip_json("-d", "link", "show"), "addresses": _ip_json("-4", "address", "show"),
                "routes": _ip_json("-4", "route", "show", "table", "main"), "ip_forward": ip_forward,
                "qdiscs": qdiscs, "classes": classes, "filters": filters, "rules": rules,
                "nft": nft_list(request["nft_table"]) if request.get("nft_table") else ""}
    if op == "probe":
        try:
            return {"features": probe(request["features"])}
        except (OSError, subprocess.CalledProcessError) as exc:  # no scratch namespace: not root, no ip netns
            return {"unprobed": f"cannot make a scratch network namespace: {exc}"}
    if op == "stats":
        channel = Channel(netns_socket(None))
        try:
            return {"stats": class_stats(channel, _names(), request["devices"])}
        finally:
            channel.close()
    if op == "tc":
        requests = [Request(kind, flags, base64.b64decode(body), what) for kind, flags, body, what in request["requests"]]
        channel = Channel(netns_socket(None))
        try:
            channel.batch(requests)
        except NetlinkError as exc:
            return {"error": {"errno": exc.errno, "index": exc.index, "what": exc.what}}
        finally:
            channel.close()
        return {"ok": True}
    if op == "ip":
        for line in request["lines"]:
            if line.startswith("nft "):
                said = nft_apply(line[len("nft "):])
                if said:
                    return {"error": {"line": line.splitlines()[0], "stderr": said}}
                continue
            if line.startswith("sysctl -w "):
                name, value = line[len("sysctl -w "):].split("=", 1)
                with open("/proc/sys/" + name.replace(".", "/"), "w") as handle_:
                    handle_.write(value)
                continue
            result = subprocess.run(["ip", "-batch", "-"], input=line + "\n", capture_output=True, text=True)
            if result.returncode != 0:
                return {"error": {"line": line, "stderr": result.stderr.strip()}}
        return {"ok": True}
    return {"error": {"what": f"unknown op {op!r}"}}


def main() -> None:
    try:
        response = handle(json.loads(sys.stdin.read()))
    except Exception as exc:  # noqa: BLE001 - reported to the driver, which names the device
        response = {"error": {"what": f"{type(exc).__name__}: {exc}"}}
    sys.stdout.write(json.dumps(response))


if __name__ == "__main__":
    main()
