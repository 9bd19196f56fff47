"""Build and remove a site's lab: network namespaces cabled with veth pairs (see engine.labspec)."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

from pyroute2 import IPRoute
from pyroute2 import netns as netns_tools
from pyroute2.netlink.exceptions import NetlinkError

from drivers.linux.driver import kernel_has
from engine.checks import Host
from engine.errors import IntentError
from engine.labspec import LabSpec

Progress = Callable[[str], None]


class LabError(IntentError):
    """The lab cannot be built or removed here."""


def _require_root() -> None:
    if os.geteuid() != 0:
        raise LabError("the lab creates network namespaces and needs root: run it as root (or with sudo)")


def exists(name: str) -> bool:
    return Path(f"/run/netns/{name}").exists()


def up(spec: LabSpec, progress: Progress = lambda _: None) -> list[str]:
    """Create what is missing; return what was created (empty when the lab was already up)."""
    _require_root()
    if spec.trunks and not kernel_has(("link", "vlan")):
        raise LabError(
            "this kernel has no 802.1Q VLAN support (8021q), and these links are trunks: " + "; ".join(spec.trunks)
            + ". Give each link one VLAN, or use the full-kernel lab tier (make test-kernel)"
        )
    for host in spec.hosts:
        if exists(host.netns) and not _ours(host):
            raise LabError(f"{host.netns} already exists and is cabled to another lab's {host.device_interface}: host "
                           "namespaces are named h-<device>-<interface>, so two labs whose devices share names cannot "
                           "be up at once on one machine; take the other lab down first")
    created: list[str] = []
    for name in spec.all_namespaces:
        if not exists(name):
            netns_tools.create(name)
            created.append(f"netns {name}")
            with IPRoute(netns=name, flags=0) as ipr:
                ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")
    for number, cable in enumerate(spec.cables):
        if _cable(cable.a_netns, cable.a_interface, cable.b_netns, cable.b_interface, f"ilab{os.getpid()}x{number}"):
            created.append(f"veth {cable.a_netns}:{cable.a_interface} -- {cable.b_netns}:{cable.b_interface}")
            progress(created[-1])
    for number, host in enumerate(spec.hosts):
        if _cable(host.netns, "eth0", host.device_netns, host.device_interface, f"ihost{os.getpid()}x{number}"):
            with IPRoute(netns=host.netns, flags=0) as ipr:
                index = ipr.link_lookup(ifname="eth0")[0]
                address, prefixlen = host.address.split("/")
                ipr.addr("add", index=index, address=address, prefixlen=int(prefixlen))
                ipr.route("add", dst="0.0.0.0/0", gateway=host.gateway)
            created.append(f"host {host.netns} {host.address} via {host.gateway}")
            progress(created[-1])
    return created


def _cable(a_ns: str, a_if: str, b_ns: str, b_if: str, temp: str) -> bool:
    """A veth pair between two namespaces with the given names; False if it is already there."""
    with IPRoute(netns=a_ns, flags=0) as a, IPRoute(netns=b_ns, flags=0) as b:
        have_a, have_b = bool(a.link_lookup(ifname=a_if)), bool(b.link_lookup(ifname=b_if))
        if have_a and have_b:
            return False
        if have_a or have_b:
            raise LabError(f"half a cable: {a_ns}:{a_if} {'exists' if have_a else 'is missing'} but {b_ns}:{b_if} "
                           f"{'exists' if have_b else 'is missing'}; run intent lab down first")
    with IPRoute() as root:
        try:
            root.link("add", ifname=f"{temp}a", kind="veth", peer={"ifname": f"{temp}b"})
            root.link("set", index=root.link_lookup(ifname=f"{temp}a")[0], net_ns_fd=a_ns)
            root.link("set", index=root.link_lookup(ifname=f"{temp}b")[0], net_ns_fd=b_ns)
        except NetlinkError as exc:
            for leftover in (f"{temp}a", f"{temp}b"):
                for index in root.link_lookup(ifname=leftover):
                    root.link("del", index=index)
            raise LabError(f"cannot cable {a_ns}:{a_if} -- {b_ns}:{b_if}: {exc}") from exc
    for ns, temp_name, final in ((a_ns, f"{temp}a", a_if), (b_ns, f"{temp}b", b_if)):
        with IPRoute(netns=ns, flags=0) as ipr:
            index = ipr.link_lookup(ifname=temp_name)[0]
            ipr.link("set", index=index, ifname=final, state="up")
    return True


def down(spec: LabSpec, progress: Progress = lambda _: None) -> list[str]:
    """Remove every namespace of the lab and what runs in it; veths go with their namespaces.

    A host namespace cabled to another lab's device (same h-<device>-<interface> name, another lab up
    at the same time) is that lab's: it is left alone, and so is the traffic running in it."""
    _require_root()
    foreign = {host.netns for host in spec.hosts if exists(host.netns) and not _ours(host)}
    removed = []
    for name in spec.all_namespaces:
        if name in foreign:
            progress(f"left {name}: it is cabled to another lab")
            continue
        if not exists(name):
            continue
        for pid in pids(name):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        netns_tools.remove(name)
        removed.append(f"netns {name}")
        progress(removed[-1])
    return removed


def _peer(ns: str, ifname: str) -> tuple[int, int] | None:
    """(ifindex, the ifindex of its veth peer) of ``ifname`` in ``ns``; None if it is not there."""
    if not exists(ns):
        return None
    try:
        with IPRoute(netns=ns, flags=0) as ipr:
            found = ipr.link_lookup(ifname=ifname)
            if not found:
                return None
            link = ipr.link("get", index=found[0])[0]
            return int(link["index"]), int(link.get_attr("IFLA_LINK") or 0)
    except (NetlinkError, OSError):
        return None


def _ours(host: Host) -> bool:
    """Whether the existing host namespace belongs to this lab: its eth0 and the device's port are the two
    ends of one veth pair (a host namespace without eth0 is an unfinished one of ours, up completes it)."""
    inside = _peer(host.netns, "eth0")
    if inside is None:
        return True
    port = _peer(host.device_netns, host.device_interface)
    return port is not None and port == (inside[1], inside[0])


def pids(name: str) -> list[int]:
    """Processes whose network namespace is ``name`` (what `ip netns pids` reports)."""
    try:
        target = os.stat(f"/run/netns/{name}").st_ino
    except FileNotFoundError:
        return []
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}/ns/net").st_ino == target:
                    found.append(int(entry))
            except (FileNotFoundError, PermissionError, ProcessLookupError):
                continue
    return found
