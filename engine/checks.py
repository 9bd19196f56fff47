"""What a kind's verify step says to check in the lab, and what it may consult to say it.

A kind's ``verify(intents, lab)`` returns ``Check`` (flows measured with real traffic: a guarantee,
a cap or a ratio of shares), ``Reach`` (hosts that must get an answer from an address) and ``Probe``
(one attempt across an isolation, which must be cut or, for an exception, get through); ``engine.verify`` runs
them through the driver family that has the ``Traffic`` ability and judges the numbers. These are
data shared by the kinds and the engine, so this module imports only data modules: a kind,
built-in or plugin, imports it without closing an import cycle.
"""

from __future__ import annotations

from engine.compilation import Compilation
from engine.frozen import frozen
from engine.model import Site
from engine.network import Network

GUARANTEED_PORT, BULK_PORT = 5201, 5301
SHARE_PORT = 5401
CLOSED_PROBE_PORT = 5999  # a TCP port the probe listens on, which the isolation must cut


@frozen
class Host:
    """A lab host: a namespace behind one access port (CONTRACT §6)."""

    netns: str  # "h-acc1-eth3"
    device_netns: str
    device_interface: str
    address: str  # "10.10.0.2/24"
    gateway: str  # "10.10.0.1"
    vlan: int


def host_netns(device: str, interface: str) -> str:
    """The namespace of the lab host behind ``device:interface`` (CONTRACT §6): ``h-acc1-eth3``."""
    return f"h-{device}-{interface}".replace("/", "-")


NOWHERE = Host("", "", "", "0.0.0.0/32", "0.0.0.0", 0)


@frozen
class Flow:
    name: str  # "guaranteed", "bulk from h-core1-eth3"
    source: Host
    destination: Host
    port: int
    protocol: str = "tcp"  # tcp | udp
    tos: int = 0  # the IP TOS byte (DSCP << 2)
    streams: int = 1
    udp_rate_bps: int = 0  # offered load for udp flows


NO_FLOW = Flow("none", NOWHERE, NOWHERE, 0)  # what a skipped check measures


@frozen
class Check:
    """One direction of a rate to measure: ``measured`` must get at least (or, ``at_most``, no more
    than) ``expected_bps`` while the ``competing`` flows run at the same time."""

    intent: str
    kind: str
    direction: str  # "VLAN 10 -> VLAN 20"
    expected_bps: int
    at_most: bool  # a cap (True) or a guarantee (False)
    measured: Flow
    competing: tuple[Flow, ...] = ()
    skipped: str = ""  # why this direction cannot be measured here ("VLAN 30 has no host in the lab")
    ratio: float | None = None  # qos_share: measured / competing[0] must be this, within the tolerance


@frozen
class Reach:
    """Every host of ``hosts`` must get an answer from ``address``; none at all is "not measured"."""

    intent: str
    kind: str
    hosts: tuple[Host, ...]
    address: str  # "10.10.0.1"
    target: str  # how the report names it: "the gateway 10.10.0.1"


@frozen
class Probe:
    """One attempt to reach a host across a boundary (isolate's, or a plugin kind's), and whether it must
    get through."""

    intent: str
    kind: str  # the kind whose verify step asked for it ("isolate"): the report's kind column
    direction: str  # "VLAN 30 -> VLAN 10"
    source: Host
    destination: Host
    protocol: str  # icmp | tcp | udp
    port: int  # 0 for icmp
    expect: bool  # True: an allowed exception, must pass; False: must be cut
    skipped: str = ""

    @property
    def what(self) -> str:
        return self.protocol if self.protocol == "icmp" else f"{self.protocol} {self.port}"


Step = Check | Reach | Probe


@frozen
class LabView:
    """What a verify step may consult: the site, what it compiled to, and the lab's hosts."""

    site: Site
    compilation: Compilation
    hosts: tuple[Host, ...]
    network: Network

    def hosts_in(self, vlan: int) -> list[Host]:
        """The lab hosts on VLAN ``vlan``'s access ports, in the order of the ports."""
        return [host for host in self.hosts if host.vlan == vlan]
