"""Read a Linux device's state into the engine's document form (engine.linux)."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from typing import Any

from pyroute2 import IPRoute

from drivers.linux import netlink
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
    """Every link, IPv4 address, static route, and tc object of the device, as a state document."""
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
    qdiscs, classes, filters = read_tc(channel, names)
    return linux.canonical({
        "device": device,
        "platform": "linux",
        "sysctl": {"net.ipv4.ip_forward": read_sysctl(netns, "net.ipv4.ip_forward")},
        "links": links,
        "addresses": addresses,
        "routes": routes,
        "qdiscs": qdiscs,
        "classes": classes,
        "filters": filters,
    })


def read_tc(channel: netlink.Channel, names: dict[int, str]) -> tuple[list[Any], list[Any], list[Any]]:
    qdiscs: list[dict[str, Any]] = []
    classes: list[dict[str, Any]] = []
    filters: list[dict[str, Any]] = []
    with_tc: dict[int, list[int]] = {}  # ifindex -> parents that may hold filters
    for payload in channel.dump(netlink.RTM_GETQDISC, netlink.tcmsg(0)):
        ifindex, own, parent, _, attributes = netlink.decode_tc(payload)
        kind = netlink.kind_of(attributes)
        if ifindex not in names or own == 0:
            continue  # the kernel's default qdisc (noqueue, pfifo_fast, mq...): nothing set up
        dev = names[ifindex]
        if kind == "ingress" or kind == "clsact":
            qdiscs.append({"dev": dev, "parent": "ingress", "handle": "ffff:", "kind": kind})
            with_tc.setdefault(ifindex, []).append(0xFFFF0000)
            continue
        entry: dict[str, Any] = {"dev": dev, "parent": netlink.handle_text(parent), "handle": netlink.handle_text(own),
                                 "kind": kind}
        if kind == "htb":
            entry["default"] = netlink.htb_default(attributes.get(netlink.TCA_OPTIONS, b""))
        qdiscs.append(entry)
        if parent == netlink.TC_H_ROOT:
            with_tc.setdefault(ifindex, []).append(own)
    for ifindex in sorted(with_tc):
        dev = names[ifindex]
        for payload in channel.dump(netlink.RTM_GETTCLASS, netlink.tcmsg(ifindex)):
            _, own, parent, _, attributes = netlink.decode_tc(payload)
            if netlink.kind_of(attributes) != "htb":
                continue
            rate, ceil, prio = netlink.htb_class(attributes.get(netlink.TCA_OPTIONS, b""))
            top = parent == netlink.TC_H_ROOT  # the kernel reports a top class's parent as root
            classes.append({"dev": dev, "classid": netlink.handle_text(own),
                            "parent": f"{own >> 16:x}:" if top else netlink.handle_text(parent),
                            "kind": "htb", "rate": rate, "ceil": ceil, "prio": None if top else prio})
        for parent_handle in with_tc[ifindex]:
            body = netlink.tcmsg(ifindex, 0, parent_handle)
            for payload in channel.dump(netlink.RTM_GETTFILTER, body):
                _, _, _, info, attributes = netlink.decode_tc(payload)
                if netlink.kind_of(attributes) != "u32":
                    continue
                decoded = netlink.u32_filter(attributes.get(netlink.TCA_OPTIONS, b""))
                if decoded is None:
                    continue
                match, flowid, target = decoded
                parent_text = "ffff:" if parent_handle == 0xFFFF0000 else netlink.handle_text(parent_handle)
                filters.append({
                    "dev": dev, "parent": parent_text, "protocol": "ip", "pref": info >> 16, "match": match,
                    "flowid": netlink.handle_text(flowid) if flowid else None,
                    "action": f"mirred egress redirect dev {names.get(target, target)}" if target else None,
                })
    return qdiscs, classes, filters
