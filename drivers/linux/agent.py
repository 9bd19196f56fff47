"""The remote half of the Linux driver over SSH: run as ``python3 -c <program>`` on the device.

Shipped together with ``netlink.py`` (stdlib only), so a remote host needs python3 and iproute2,
nothing else. One request per run, JSON on stdin, JSON on stdout:

    {"op": "read"}                       ip -j link/addr/route, ip_forward, and every tc object
    {"op": "indexes"}                    interface name -> index
    {"op": "tc", "requests": [...]}      [kind, flags, base64 body, what] sent batched over netlink
    {"op": "ip", "lines": [...]}         `ip -batch` lines, and "sysctl -w name=value" lines
"""

from __future__ import annotations

import base64
import json
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
                "qdiscs": qdiscs, "classes": classes, "filters": filters, "rules": rules}
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
