"""Read a Linux device's state into the engine's document form (engine.linux)."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from typing import Any

from pyroute2 import IPRoute

from drivers.linux import netlink
from drivers.linux.agent import nft_list
from engine import linux

IFF_UP = 0x1
RTPROT_KERNEL = 2
RTN_UNICAST = 1
CREATED_KINDS = {"bridge", "vlan", "ifb"}
_thread_ns = threading.Lock()


@contextlib.contextmanager
def inside(netns: str | None) -> Iterator[None]:
    """Run the body with this thread in network namespace ``netns`` (for /proc/sys/net)."""
    if netns is None:
        yield
        return
    with _thread_ns:
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{netns}", os.O_RDONLY)
        try:
            if netlink._libc.setns(target, netlink.CLONE_NEWNET) != 0:
                raise OSError(f"cannot enter network namespace {netns}")
            try:
                yield
            finally:
                netlink._libc.setns(own, netlink.CLONE_NEWNET)
        finally:
            os.close(own)
            os.close(target)


def read_sysctl(netns: str | None, name: str) -> str:
    with inside(netns), open(f"/proc/sys/{name.replace('.', '/')}") as handle:
        return handle.read().strip()


def write_sysctl(netns: str | None, name: str, value: str) -> None:
    with inside(netns), open(f"/proc/sys/{name.replace('.', '/')}", "w") as handle:
        handle.write(value)


def read_document(ipr: IPRoute, channel: netlink.Channel, netns: str | None, device: str) -> dict[str, Any]:
    """Every link, IPv4 address, static route, rule, tc object, and the nftables table intent owns
    (when there is one) of the device, as a state document."""
    names: dict[int, str] = {}
    links = []
    for msg in ipr.get_links():
        names[msg["index"]] = msg.get_attr("IFLA_IFNAME")
    for msg in ipr.get_links():
        info = msg.get_attr("IFLA_LINKINFO")
        kind = info.get_attr("IFLA_INFO_KIND") if info else None
        vlan_id = None
        if kind == "vlan":
            vlan_id = info.get_attr("IFLA_INFO_DATA").get_attr("IFLA_VLAN_ID")
        master = msg.get_attr("IFLA_MASTER")
        parent = msg.get_attr("IFLA_LINK") if kind == "vlan" else None
        links.append({
            "name": names[msg["index"]],
            "kind": kind if kind in CREATED_KINDS else None,
            "link": names.get(parent) if parent else None,
            "id": vlan_id,
            "master": names.get(master) if master else None,
            "up": bool(msg["flags"] & IFF_UP),
        })
    addresses = [
        {"dev": names[msg["index"]], "address": f"{msg.get_attr('IFA_ADDRESS')}/{msg['prefixlen']}"}
        for msg in ipr.get_addr(family=2)
        if msg["index"] in names
    ]
    routes: list[dict[str, Any]] = []
    for msg in ipr.get_routes(family=2, table=254):
        if msg["proto"] == RTPROT_KERNEL or msg["type"] != RTN_UNICAST:
            continue
        dst = f"{msg.get_attr('RTA_DST') or '0.0.0.0'}/{msg['dst_len']}"
        hops: list[dict[str, Any]] = []
        multipath: Any = msg.get_attr("RTA_MULTIPATH")
        if multipath:
            for hop in multipath:
                hops.append({"via": hop.get_attr("RTA_GATEWAY"), "dev": names.get(hop["oif"], str(hop["oif"]))})
        else:
            hops.append({"via": msg.get_attr("RTA_GATEWAY"), "dev": names.get(msg.get_attr("RTA_OIF"), "?")})
        routes.append({"dst": dst, "nexthops": sorted(hops, key=lambda h: (h["dev"], str(h["via"])))})
    qdiscs, classes, filters = netlink.read_tc(channel, names)
    rules = netlink.read_rules(channel)
    tables = linux.parse_nft_table(nft_list(linux.NFT_TABLE, netns))
    return linux.canonical({
        "device": device,
        "platform": "linux",
        "sysctl": {"net.ipv4.ip_forward": read_sysctl(netns, "net.ipv4.ip_forward")},
        "links": links,
        "addresses": addresses,
        "routes": routes,
        "rules": rules,
        **({"nftables": tables} if tables else {}),
        "qdiscs": qdiscs,
        "classes": classes,
        "filters": filters,
    })
